"""A small, realistic org for demos and end-to-end tests.

Departments: 1 公司 (root) → 2 研发部 → 3 前端组; 1 → 4 市场部; 1 → 5 财务部.

| userid   | name | department | role                       | direct leader |
|----------|------|------------|----------------------------|---------------|
| zhangwei | 张伟 | 1 公司     | CEO, leader of 1           | —             |
| lina     | 李娜 | 2 研发部   | 研发总监, leader of 2      | zhangwei      |
| wangfang | 王芳 | 3 前端组   | 前端组长, leader of 3      | lina          |
| liuyang  | 刘洋 | 3 前端组   | 前端工程师                 | wangfang      |
| chenjing | 陈静 | 2 研发部   | 后端工程师                 | lina          |
| zhaolei  | 赵磊 | 4 市场部   | 市场经理, leader of 4      | zhangwei      |
| sunli    | 孙丽 | 4 市场部   | 市场专员                   | zhaolei       |
| zhoumin  | 周敏 | 5 财务部   | 财务经理, leader of 5      | zhangwei      |
| wuqiang  | 吴强 | 5 财务部   | 会计, tag 1 财务审核        | zhoumin       |
| xuhui    | 徐慧 | 5 财务部   | 财务系统管理员, tag 2 财务管理员 | zhoumin |

App group chat `rd-group` (研发部群, owner lina: lina, wangfang, liuyang, chenjing) and the group
robot key `demo-robot-key` (财务通知机器人).
"""

from __future__ import annotations

from simulator.core import WeComSimulator

DEPARTMENTS = [(1, "公司", 0), (2, "研发部", 1), (3, "前端组", 2), (4, "市场部", 1), (5, "财务部", 1)]

# userid, name, department, leader of, direct leader, position
USERS = [
    ("zhangwei", "张伟", 1, True, "", "CEO"),
    ("lina", "李娜", 2, True, "zhangwei", "研发总监"),
    ("wangfang", "王芳", 3, True, "lina", "前端组长"),
    ("liuyang", "刘洋", 3, False, "wangfang", "前端工程师"),
    ("chenjing", "陈静", 2, False, "lina", "后端工程师"),
    ("zhaolei", "赵磊", 4, True, "zhangwei", "市场经理"),
    ("sunli", "孙丽", 4, False, "zhaolei", "市场专员"),
    ("zhoumin", "周敏", 5, True, "zhangwei", "财务经理"),
    ("wuqiang", "吴强", 5, False, "zhoumin", "会计"),
    ("xuhui", "徐慧", 5, False, "zhoumin", "财务系统管理员"),
]

FINANCE_REVIEW_TAG = (1, "财务审核", ["wuqiang"])
FINANCE_ADMIN_TAG = (2, "财务管理员", ["xuhui"])
RD_GROUP = ("rd-group", "研发部群", "lina", ["lina", "wangfang", "liuyang", "chenjing"])
DEMO_ROBOT = ("demo-robot-key", "财务通知机器人")


def seed_demo_org(sim: WeComSimulator) -> None:
    for dept_id, name, parent in DEPARTMENTS:
        sim.add_department(dept_id, name, parent)
    for userid, name, dept, is_leader, leader, position in USERS:
        sim.add_user(userid, name, [dept], leader_in=[dept] if is_leader else [],
                     direct_leader=[leader] if leader else [], position=position)
    for tagid, tag_name, members in (FINANCE_REVIEW_TAG, FINANCE_ADMIN_TAG):
        sim.add_tag(tagid, tag_name, members)
    chatid, chat_name, owner, members = RD_GROUP
    sim.add_appchat(chatid, chat_name, owner, members)
    sim.add_robot(*DEMO_ROBOT)
