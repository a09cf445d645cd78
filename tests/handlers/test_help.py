from tests.world import World


async def test_help_is_answered(world: World) -> None:
    text = await world.reply_to("liuyang", "帮助")
    assert "报销" in text and "预算" in text
