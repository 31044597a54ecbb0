"""The demo's words and numbers: names, mobiles, ID numbers, account numbers, visit texts. Demo only."""
from __future__ import annotations

import random
from datetime import date

# Kept for bench/client_list.py, which builds large synthetic books from them.
SURNAMES = list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段钱汤尹黎易常武乔贺赖龚文") + ["欧阳", "司马", "上官"]
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志强海燕文博子涵浩然欣怡梓萱宇轩思远佳琪晨曦雨桐俊杰嘉怡泽宇诗涵晓东丹丹红梅春生金凤玉兰永刚德明")
SUMMARIES = [
    "在网点大堂交流，了解客户理财到期情况", "电话回访，客户关注近期市场波动", "微信推送研报，客户回复感兴趣",
    "客户询问两融业务开通条件", "介绍基金定投，客户表示考虑", "陪同客户在网点办理银证转账",
    "邀请参加周六投资策略讲座", "客户咨询国债逆回购操作", "上门拜访企业财务负责人，介绍员工理财服务",
    "客户反映交易软件登录慢，已协助处理",
]
NEXT_STEPS = ["下周电话跟进", "寄送产品资料", "邀请参加讲座", "协助开户", "月底回访", ""]

# Surnames roughly by how common they are (the first ones far more often), one compound surname.
_COMMON_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
                        "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武"
                        "戴孔汤") + ["欧阳"]
_SURNAME_WEIGHTS = [1 / (rank + 6) for rank in range(len(_COMMON_SURNAMES))]

# Given names as people of each generation are actually called.
_GIVEN_BY_AGE = {
    "older": ["建国", "国强", "淑珍", "秀英", "桂英", "玉兰", "凤英", "德明", "志刚", "建华", "秀兰", "春生", "金凤",
              "永刚", "桂芳", "振华", "丽华", "保国", "卫东", "素芬", "国庆", "秀珍", "明", "华", "平"],
    "middle": ["伟", "芳", "敏", "静", "丽", "强", "磊", "军", "勇", "艳", "杰", "涛", "超", "霞", "刚", "海燕", "晓东",
               "红梅", "丽娟", "晓燕", "海波", "建平", "立新", "雪梅", "志勇", "文杰", "少华", "永红", "宏伟", "俊峰",
               "慧敏", "春燕", "国平", "晓明", "红霞", "文静", "海涛", "云"],
    "young": ["子涵", "浩然", "欣怡", "梓萱", "宇轩", "思远", "佳琪", "晨曦", "雨桐", "俊杰", "嘉怡", "泽宇", "诗涵",
              "婷婷", "静怡", "一鸣", "子轩", "雅琪", "博文", "梦瑶", "天宇", "思琪", "昊然", "晓彤", "鑫", "洋"],
}
AGE_BANDS = {"25_34": (26, 34, "young"), "35_44": (35, 44, "middle"), "45_54": (45, 54, "middle"),
             "55_64": (55, 64, "older"), "65p": (65, 78, "older")}

# Real number blocks of the three carriers; the remaining eight digits are drawn.
_MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
                    "155", "156", "157", "158", "159", "166", "173", "176", "177", "180", "181", "182", "183",
                    "185", "186", "187", "188", "189", "191", "198", "199")
# Where Beijing clients were born: mostly Beijing districts, some other provincial capitals.
_ID_REGIONS = ("110105", "110105", "110108", "110108", "110102", "110101", "110106", "110114", "130102", "370202",
               "410105", "320106", "420106", "510107", "210102", "140105")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def person_name(rng: random.Random, generation: str, taken: set[str]) -> str:
    """A realistic, unused full name for someone of this generation."""
    while True:
        name = rng.choices(_COMMON_SURNAMES, _SURNAME_WEIGHTS)[0] + rng.choice(_GIVEN_BY_AGE[generation])
        if name not in taken:
            taken.add(name)
            return name


def _looks_made_up(digits: str) -> bool:
    """Four equal digits in a row, or a straight run like 1234: numbers people would notice."""
    for i in range(len(digits) - 3):
        window = digits[i:i + 4]
        if len(set(window)) == 1:
            return True
        steps = {int(b) - int(a) for a, b in zip(window, window[1:])}
        if steps in ({1}, {-1}):
            return True
    return False


def mobile(rng: random.Random, taken: set[str]) -> str:
    """An unused, valid mainland mobile number from a real carrier block, without tell-tale runs."""
    while True:
        number = rng.choice(_MOBILE_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(8))
        if number not in taken and not _looks_made_up(number[3:]):
            taken.add(number)
            return number


def id_number(rng: random.Random, birth: date, male: bool, taken: set[str]) -> str:
    """An unused resident ID number (GB 11643) for this birth date and sex, with its check digit."""
    while True:
        sequence = rng.randrange(1, 999)
        if (sequence % 2 == 1) != male:
            sequence += 1
        first17 = f"{rng.choice(_ID_REGIONS)}{birth:%Y%m%d}{sequence:03d}"
        check = "10X98765432"[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS)) % 11]
        number = first17 + check
        if number not in taken:
            taken.add(number)
            return number


def account_no(rng: random.Random, taken: set[str]) -> str:
    """An unused 12-digit back-office account number (资金账号)."""
    while True:
        number = "3101" + "".join(rng.choice("0123456789") for _ in range(8))
        if number not in taken:
            taken.add(number)
            return number


INTERESTS = ("基金定投", "国债逆回购", "两融业务", "港股通", "银行理财到期转投", "养老规划", "子女教育金", "可转债", "")

# What a manager writes after each kind of contact.
VISIT_SUMMARIES = [
    "在网点大堂交流，了解客户理财到期情况", "电话问候，客户关注近期市场波动，已解释仓位风险",
    "客户询问两融业务开通条件，已说明门槛与风险", "介绍基金定投，客户表示回去和家人商量",
    "陪同客户在网点办理银证转账", "客户咨询国债逆回购操作，现场演示了手机端下单",
    "上门拜访企业财务负责人，介绍员工理财服务", "客户反映交易软件登录慢，已协助清理缓存并升级版本",
    "客户有一笔定期存款下月到期，约好到期前再沟通", "客户关心港股通开通，已发送开通指引",
]
PROSPECT_SUMMARIES = [
    "在网点大堂结识，客户想了解股票开户", "银行柜员推荐，客户对基金定投感兴趣", "企业财务人员介绍，同事们想了解员工理财",
    "老客户转介绍，客户考虑把部分存款转投理财", "讲座后留下联系方式，对养老规划感兴趣",
]
NEXT_STEP_TEXTS = ["电话跟进，确认客户考虑结果", "寄送产品资料并电话确认", "邀请参加周六投资讲座", "约客户到网点面谈",
                   "理财到期前电话提醒", "月底回访"]
PLAN_SUMMARIES = {
    "review_call": ["定期回访：客户近况良好，持仓无调整需求", "定期回访：客户关注美联储降息，已解释对债基的影响",
                    "定期回访：客户计划年底追加资金，约好下次详谈"],
    "research_push": ["推送本周市场周报，客户已读并回复收到", "推送行业研报《新能源板块三季报点评》",
                      "推送晨会纪要与本周新债申购日历"],
    "portfolio_review": ["组合检视：权益仓位偏高，建议逐步降至六成", "组合检视：持仓与风险等级相符，维持现有配置"],
    "seminar": ["邀请参加本月投资策略讲座，客户确认出席", "讲座后交流，客户对资产配置思路很认可"],
    "care": ["微信送上节日祝福，客户回复感谢", "寄送节日礼盒并电话问候"],
}
FLAG_SUMMARIES = {
    "dormant": ["较长时间未联系，电话问候近况，客户表示最近工作忙", "客户资金长期闲置，介绍了货币基金和国债逆回购",
                "电话回访，客户近期在外地，回京后到网点面谈"],
    "at_risk": ["了解资产下降原因：客户赎回部分资金用于购房首付", "客户对近期亏损不满，已陪同复盘持仓并调整预期",
                "沟通佣金与服务，客户表示暂不考虑转户"],
}
CALLBACK_SUMMARY = "新开户回访：确认开户流程顺利，客户已完成首笔交易"
