"""HTTP layer: one blueprint per feature. Routes parse, authorise, call a service, render."""
