"""WTForms forms, one module per feature, and the field helpers they share."""
