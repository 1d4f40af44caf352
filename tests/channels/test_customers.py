"""Telegram customer ids: one per private chat, one per (person, group); names for operators."""

from __future__ import annotations

import asyncio

from telegram import Chat, User

from sipai.channels.telegram.customers import (
    current_customer,
    customer_for,
    customer_id,
    customer_label,
    in_group,
    on_behalf_of,
    telegram_chat_id,
    telegram_user_id,
)

ANA = User(6101, "Ana", is_bot=False, last_name="López", username="ana")


def test_private_chats_keep_the_plain_id_and_groups_get_their_own() -> None:
    assert customer_id(6101) == "tg:6101"
    assert customer_id(6101, 6101) == "tg:6101"  # a private chat's id is the user's
    assert customer_id(6101, -1001234567890) == "tg:6101:-1001234567890"
    assert customer_for(ANA, Chat(6101, Chat.PRIVATE)) == "tg:6101"
    assert customer_for(ANA, None) == "tg:6101"
    assert customer_for(ANA, Chat(-4200, Chat.GROUP)) == "tg:6101:-4200"
    assert customer_for(ANA, Chat(-1004200, Chat.SUPERGROUP)) == "tg:6101:-1004200"
    # Two people in one group, and one person in two groups, are four conversations.
    bob = User(6102, "Bob", is_bot=False)
    ids = {customer_for(u, Chat(c, Chat.GROUP)) for u in (ANA, bob) for c in (-1, -2)}
    assert len(ids) == 4


def test_both_forms_parse_back() -> None:
    assert telegram_user_id("tg:6101") == 6101
    assert telegram_user_id("tg:6101:-4200") == 6101
    assert telegram_chat_id("tg:6101") == 6101
    assert telegram_chat_id("tg:6101:-4200") == -4200
    assert in_group("tg:6101:-4200") and not in_group("tg:6101")
    for other in ("web:6101", "tg:abc", "tg:6101:", "tg:6101:-42:7", "tg:", "xtg:1"):
        assert telegram_user_id(other) is None, other
        assert telegram_chat_id(other) is None, other
        assert not in_group(other), other


def test_operators_read_the_name_with_the_id_escaped() -> None:
    assert customer_label("tg:6101", ANA) == "Ana López (@ana, <code>tg:6101</code>)"
    assert customer_label("tg:6101:-4200", ANA) == \
        "Ana López (@ana, <code>tg:6101:-4200</code>)"
    no_handle = User(6103, "<b>Eve</b> & co", is_bot=False)
    assert customer_label("tg:6103", no_handle) == \
        "&lt;b&gt;Eve&lt;/b&gt; &amp; co (<code>tg:6103</code>)"
    # Someone else's name never labels a ticket; without a user only the id is shown.
    assert customer_label("tg:9999", ANA) == "<code>tg:9999</code>"
    assert customer_label("web:6101", ANA) == "<code>web:6101</code>"
    assert customer_label("tg:6101", None) == "<code>tg:6101</code>"


async def test_on_behalf_of_is_scoped_to_the_block_and_the_task() -> None:
    bob = User(6102, "Bob", is_bot=False)
    assert current_customer() is None
    seen: dict[str, User | None] = {}

    async def handler(user: User) -> None:
        with on_behalf_of(user):
            await asyncio.sleep(0.01)  # the other handler runs meanwhile
            seen[user.first_name] = current_customer()
        seen[f"{user.first_name} after"] = current_customer()

    await asyncio.gather(handler(ANA), handler(bob))
    assert seen == {"Ana": ANA, "Bob": bob, "Ana after": None, "Bob after": None}
    assert current_customer() is None
