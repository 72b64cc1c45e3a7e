"""Prove the fake Discord against the real discord.py client, using a tiny bot defined here."""

from __future__ import annotations

import asyncio
import io
from typing import Any, Literal

import aiohttp
import discord
import pytest
from discord import app_commands

from tests.e2e.conftest import RunningBot
from tests.fakediscord import PRIVILEGED_INTENTS, FakeDiscord, Perm, limits

TIMEOUT = 5.0


class Counter(discord.ui.View):
    """A button that counts clicks and a select that names a colour, both editing in place."""

    def __init__(self) -> None:
        super().__init__(timeout=60)
        self.count = 0

    @discord.ui.button(label="+1", custom_id="counter:inc")
    async def increment(
        self, interaction: discord.Interaction, _: discord.ui.Button[Counter]
    ) -> None:
        """Count one more click."""
        self.count += 1
        await interaction.response.edit_message(content=f"count: {self.count}", view=self)

    @discord.ui.select(
        custom_id="counter:colour",
        options=[discord.SelectOption(label=c, value=c) for c in ("red", "green", "blue")],
    )
    async def colour(
        self, interaction: discord.Interaction, select: discord.ui.Select[Counter]
    ) -> None:
        """Show the chosen colour."""
        await interaction.response.edit_message(content=f"colour: {select.values[0]}")


class Feedback(discord.ui.Modal, title="Feedback"):
    """A one-field modal that thanks the user by echoing the text."""

    text: discord.ui.TextInput[Feedback] = discord.ui.TextInput(label="Your feedback")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Echo the submitted text."""
        await interaction.response.send_message(f"thanks: {self.text.value}", ephemeral=True)


class TinyBot(discord.Client):
    """A minimal bot exercising each kind of response the fake must handle."""

    def __init__(self, intents: discord.Intents | None = None) -> None:
        super().__init__(intents=intents or discord.Intents.default())
        self.tree = app_commands.CommandTree(self)
        self.errors: list[discord.HTTPException] = []
        lesson = app_commands.Group(name="lesson", description="Lessons")
        admin = app_commands.Group(name="admin", description="Admin tools")
        scores = app_commands.Group(name="scores", description="Scores", parent=admin)

        @lesson.command(name="show", description="Show a lesson")
        @app_commands.describe(lesson="Lesson id", mode="How to show it")
        async def show(
            interaction: discord.Interaction,
            lesson: str,
            mode: Literal["overview", "code"] = "overview",
        ) -> None:
            await interaction.response.send_message(f"{lesson} in {mode}", ephemeral=True)

        @show.autocomplete("lesson")
        async def lesson_ids(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            ids = ["intro", "internals", "tasks"]
            return [
                app_commands.Choice(name=i.title(), value=i) for i in ids if i.startswith(current)
            ]

        @scores.command(name="reset", description="Reset scores")
        async def reset(interaction: discord.Interaction, confirm: bool) -> None:
            allowed = interaction.permissions.manage_guild
            await interaction.response.send_message(
                f"reset={confirm} allowed={allowed}", ephemeral=True
            )

        @app_commands.command(name="slow", description="Defer, then edit")
        async def slow(interaction: discord.Interaction) -> None:
            await interaction.response.defer(thinking=True)
            await interaction.edit_original_response(content="done after thinking")

        @app_commands.command(name="file", description="Send a file as a followup")
        async def send_file(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            data = discord.File(io.BytesIO(b"\x89PNG fake bytes"), filename="chart.png")
            await interaction.followup.send("here is the chart", file=data)

        @app_commands.command(name="counter", description="A counter with a button")
        async def counter(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("count: 0", view=Counter())

        @app_commands.command(name="toolong", description="Break the 2000-character limit")
        async def toolong(interaction: discord.Interaction) -> None:
            try:
                await interaction.response.send_message("x" * 2001)
            except discord.HTTPException as error:
                self.errors.append(error)
                await interaction.response.send_message("sorry, too long", ephemeral=True)

        @app_commands.command(name="feedback", description="Open a feedback form")
        async def feedback(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(Feedback())

        @app_commands.command(name="ignore", description="Never answer")
        async def ignore(interaction: discord.Interaction) -> None:
            return None

        commands: list[app_commands.Command[Any, ..., None] | app_commands.Group]
        commands = [lesson, admin, slow, send_file, counter, toolong, feedback, ignore]
        for command in commands:
            self.tree.add_command(command)


@pytest.fixture
def bot() -> TinyBot:
    """Build a fresh tiny bot."""
    return TinyBot()


async def synced(fake: FakeDiscord, bot: TinyBot) -> None:
    """Sync the bot's commands globally and check the fake stored them."""
    await asyncio.wait_for(bot.tree.sync(), TIMEOUT)
    assert {c["name"] for c in fake.commands.in_scope(None)} >= {"lesson", "admin", "counter"}


async def test_client_logs_in_and_becomes_ready(
    fake_discord: FakeDiscord, running_bot: RunningBot, bot: TinyBot
) -> None:
    """Login, connect, IDENTIFY without privileged intents, READY and GUILD_CREATE all work."""
    async with running_bot(bot):
        assert bot.user is not None and bot.user.id == fake_discord.bot_user.id
        guild = bot.get_guild(fake_discord.guild.id)
        assert guild is not None and guild.name == "Study Group"
        assert guild.get_channel(fake_discord.channel.id) is not None
        assert guild.me is not None
    assert fake_discord.intents & PRIVILEGED_INTENTS == 0
    query = fake_discord.gateway.connections[0]
    assert query["v"] == "10" and query["encoding"] == "json"
    routes = [r.route for r in fake_discord.requests]
    assert routes[:2] == ["GET /users/@me", "GET /oauth2/applications/@me"]
    fake_discord.assert_clean()


async def test_heartbeats_are_acked(
    fake_discord: FakeDiscord, running_bot: RunningBot, bot: TinyBot
) -> None:
    """The client's heartbeats each get a HEARTBEAT_ACK."""
    fake_discord.heartbeat_interval = 0.05
    async with running_bot(bot):
        await fake_discord.wait_for(lambda: fake_discord.heartbeat_acks >= 3, TIMEOUT, "3 acks")
        assert bot.latency != float("inf")  # the client saw an ACK for its heartbeat
    assert 3 <= fake_discord.heartbeat_acks <= fake_discord.heartbeats


async def test_command_sync_is_stored(
    fake_discord: FakeDiscord, running_bot: RunningBot, bot: TinyBot
) -> None:
    """A global sync PUTs the command tree, which the fake stores with nested options."""
    async with running_bot(bot):
        await synced(fake_discord, bot)
        await asyncio.wait_for(bot.tree.sync(guild=discord.Object(fake_discord.guild.id)), TIMEOUT)
    lesson, _ = fake_discord.commands.find("lesson", None)
    assert [o["name"] for o in lesson["options"]] == ["show"]
    assert fake_discord.requests_to("PUT", r"/guilds/\d+/commands$")
    fake_discord.assert_clean()


async def test_invalid_command_payload_is_rejected(
    fake_discord: FakeDiscord, running_bot: RunningBot, bot: TinyBot
) -> None:
    """A command with an uppercase name and a 101-char description gets 400 50035."""
    async with running_bot(bot):
        bad = {"name": "Bad Name", "description": "d" * 101, "type": 1}
        with pytest.raises(discord.HTTPException) as raised:
            await bot.http.bulk_upsert_global_commands(fake_discord.application_id, [bad])
    assert raised.value.status == 400 and raised.value.code == 50035
    (violation,) = fake_discord.violations
    assert set(violation.errors["0"]) == {"name", "description"}


async def test_slash_command_with_ephemeral_response(
    fake_discord: FakeDiscord, running_bot: RunningBot, bot: TinyBot
) -> None:
    """A slash command built from the synced tree reaches the handler; the reply is ephemeral."""
    async with running_bot(bot):
        await synced(fake_discord, bot)
        interaction = await fake_discord.slash("lesson show", {"lesson": "intro", "mode": "code"})
        callback = await fake_discord.wait_for_response(interaction, TIMEOUT)
    assert callback.type == 4
    message = fake_discord.original_message(interaction)
    assert message is not None and message.ephemeral
    assert message.content == "intro in code"
    fake_discord.assert_clean()


async def test_subcommand_group_and_member_permissions(
    fake_discord: FakeDiscord, running_bot: RunningBot, bot: TinyBot
) -> None:
    """A subcommand inside a group resolves, and member permissions reach the handler."""
    admin = fake_discord.add_member("ada", permissions=Perm.MANAGE_GUILD)
    async with running_bot(bot):
        await synced(fake_discord, bot)
        as_admin = await fake_discord.slash("admin scores reset", {"confirm": True}, user=admin)
        as_member = await fake_discord.slash("admin scores reset", {"confirm": False})
        await fake_discord.wait_for_response(as_admin, TIMEOUT)
        await fake_discord.wait_for_response(as_member, TIMEOUT)
    admin_reply = fake_discord.original_message(as_admin)
    member_reply = fake_discord.original_message(as_member)
    assert admin_reply is not None and admin_reply.content == "reset=True allowed=True"
    assert member_reply is not None and member_reply.content == "reset=False allowed=False"


async def test_autocomplete_returns_choices(
    fake_discord: FakeDiscord, running_bot: RunningBot, bot: TinyBot
) -> None:
    """An autocomplete request for the focused option is answered with type 8 choices."""
    async with running_bot(bot):
        await synced(fake_discord, bot)
        interaction = await fake_discord.autocomplete(
            "lesson show", {"lesson": "in"}, focused="lesson"
        )
        callback = await fake_discord.wait_for_response(interaction, TIMEOUT)
    assert callback.type == 8
    assert [c["value"] for c in callback.data["choices"]] == ["intro", "internals"]


async def test_deferred_response_then_edit_original(
    fake_discord: FakeDiscord, running_bot: RunningBot, bot: TinyBot
) -> None:
    """A deferred (type 5) response becomes the edited original message."""
    async with running_bot(bot):
        await synced(fake_discord, bot)
        interaction = await fake_discord.slash("slow")
        callback = await fake_discord.wait_for_response(interaction, TIMEOUT)
        await fake_discord.wait_for_request("PATCH", r"/messages/@original$", TIMEOUT)
    assert callback.type == 5
    message = fake_discord.original_message(interaction)
    assert message is not None and not message.loading
    assert message.content == "done after thinking"
    fake_discord.assert_clean()


async def test_followup_with_file_attachment(
    fake_discord: FakeDiscord, running_bot: RunningBot, bot: TinyBot
) -> None:
    """A followup with a file arrives as multipart and is stored with its bytes."""
    async with running_bot(bot):
        await synced(fake_discord, bot)
        interaction = await fake_discord.slash("file")
        await fake_discord.wait_for(
            lambda: fake_discord.followups(interaction), TIMEOUT, "a followup"
        )
    (followup,) = fake_discord.followups(interaction)
    assert followup.content == "here is the chart"
    (attachment,) = followup.attachments
    assert attachment.filename == "chart.png" and attachment.data == b"\x89PNG fake bytes"
    (request,) = fake_discord.requests_to("POST", r"^/webhooks/")
    assert [f.field for f in request.files] == ["files[0]"]
    fake_discord.assert_clean()


async def test_button_click_edits_message(
    fake_discord: FakeDiscord, running_bot: RunningBot, bot: TinyBot
) -> None:
    """Clicking a button dispatches a component interaction that edits the message in place."""
    async with running_bot(bot):
        await synced(fake_discord, bot)
        interaction = await fake_discord.slash("counter")
        await fake_discord.wait_for_response(interaction, TIMEOUT)
        message = fake_discord.original_message(interaction)
        assert message is not None and "counter:inc" in message.custom_ids()
        for _ in range(2):
            click = await fake_discord.click(message.id, "counter:inc")
            callback = await fake_discord.wait_for_response(click, TIMEOUT)
            assert callback.type == 7
    assert message.content == "count: 2"
    assert message.revisions == 2
    fake_discord.assert_clean()


async def test_select_menu_choice_edits_message(
    fake_discord: FakeDiscord, running_bot: RunningBot, bot: TinyBot
) -> None:
    """Choosing a select option dispatches its values to the view."""
    async with running_bot(bot):
        await synced(fake_discord, bot)
        interaction = await fake_discord.slash("counter")
        await fake_discord.wait_for_response(interaction, TIMEOUT)
        message = fake_discord.original_message(interaction)
        assert message is not None
        choice = await fake_discord.select(message.id, "counter:colour", ["green"])
        await fake_discord.wait_for_response(choice, TIMEOUT)
    assert message.content == "colour: green"
    with pytest.raises(ValueError, match="not options"):
        await fake_discord.select(message.id, "counter:colour", ["purple"])


async def test_limit_violation_is_answered_400_and_recorded(
    fake_discord: FakeDiscord, running_bot: RunningBot, bot: TinyBot
) -> None:
    """Content over 2000 characters gets Discord's 400 Invalid Form Body and a violation record."""
    async with running_bot(bot):
        await synced(fake_discord, bot)
        interaction = await fake_discord.slash("toolong")
        await fake_discord.wait_for_response(interaction, TIMEOUT)
    (error,) = bot.errors
    assert error.status == 400 and error.code == 50035
    (violation,) = fake_discord.violations
    assert "data" in violation.errors and "content" in violation.errors["data"]
    assert "2000" in violation.problems[0]
    with pytest.raises(AssertionError, match="violation"):
        fake_discord.assert_clean()


async def test_second_callback_is_already_acknowledged(
    fake_discord: FakeDiscord, running_bot: RunningBot, bot: TinyBot
) -> None:
    """A second callback for one interaction gets 400 code 40060."""
    async with running_bot(bot):
        await synced(fake_discord, bot)
        interaction = await fake_discord.slash("ignore")
        token = fake_discord.interactions[interaction].token
        url = f"{fake_discord.api_base}/interactions/{interaction}/{token}/callback"
        async with aiohttp.ClientSession() as session:
            statuses = []
            for _ in range(2):
                async with session.post(url, json={"type": 5}) as response:
                    statuses.append((response.status, (await response.json()).get("code")))
    assert statuses[0][0] == 200 and statuses[1] == (400, 40060)
    assert [v.code for v in fake_discord.violations] == [40060]


async def test_unanswered_interaction_is_flagged_late(
    fake_discord: FakeDiscord, running_bot: RunningBot, bot: TinyBot
) -> None:
    """An interaction nobody answers is listed as late once the window has passed."""
    fake_discord.response_window = 0.2
    async with running_bot(bot):
        await synced(fake_discord, bot)
        answered = await fake_discord.slash("lesson show", {"lesson": "intro"})
        await fake_discord.wait_for_response(answered, TIMEOUT)
        ignored = await fake_discord.slash("ignore")
        late = await fake_discord.wait_for(
            lambda: [r for r in fake_discord.late_interactions if r.id == ignored],
            TIMEOUT,
            "the window to pass",
        )
    assert late[0].first_callback is None and late[0].response_delay is None
    assert fake_discord.interactions[answered].first_callback is not None
    assert fake_discord.unanswered(after=60.0) == []  # nothing is that old
    with pytest.raises(AssertionError, match="late interaction"):
        fake_discord.assert_clean()


async def test_reconnect_resumes_session(
    fake_discord: FakeDiscord, running_bot: RunningBot, bot: TinyBot
) -> None:
    """After op 7 RECONNECT the client RESUMEs and still receives interactions."""
    async with running_bot(bot):
        await synced(fake_discord, bot)
        await fake_discord.request_reconnect()
        await fake_discord.wait_for(lambda: fake_discord.recorder.resumes, TIMEOUT, "a RESUME")
        await fake_discord.wait_until_connected(TIMEOUT)
        interaction = await fake_discord.slash("lesson show", {"lesson": "tasks"})
        await fake_discord.wait_for_response(interaction, TIMEOUT)
    assert len(fake_discord.identifies) == 1
    assert len(fake_discord.gateway.connections) == 2


async def test_wrong_token_fails_login(
    fake_discord: FakeDiscord, running_bot: RunningBot, bot: TinyBot
) -> None:
    """A token the fake does not know makes login fail with LoginFailure (HTTP 401)."""
    with pytest.raises(discord.LoginFailure):
        async with running_bot(bot, token="not-the-token"):
            pass


async def test_privileged_intents_are_refused(
    fake_discord: FakeDiscord, running_bot: RunningBot
) -> None:
    """Asking for privileged intents the app lacks closes the gateway with 4014."""
    with pytest.raises(discord.PrivilegedIntentsRequired):
        async with running_bot(TinyBot(intents=discord.Intents.all())):
            pass


async def test_unknown_route_is_404_and_recorded(
    fake_discord: FakeDiscord, running_bot: RunningBot, bot: TinyBot
) -> None:
    """A route the fake does not serve answers 404 and is listed in unknown_requests."""
    async with running_bot(bot):
        with pytest.raises(discord.NotFound):
            await bot.http.request(discord.http.Route("GET", "/no/such/route"))
    assert [r.route for r in fake_discord.unknown_requests] == ["GET /no/such/route"]


async def test_channel_messages_are_created_and_edited(
    fake_discord: FakeDiscord, running_bot: RunningBot, bot: TinyBot
) -> None:
    """channel.send and message.edit go through REST and update the stored message."""
    async with running_bot(bot):
        channel = bot.get_channel(fake_discord.channel.id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("hello", allowed_mentions=discord.AllowedMentions.none())
        await sent.edit(embed=discord.Embed(title="t", description="d"))
        with pytest.raises(discord.HTTPException):
            await channel.send(embed=discord.Embed(title="x" * 257))
    stored = fake_discord.messages[sent.id]
    assert stored.content == "hello" and stored.embeds[0]["title"] == "t"
    assert stored.allowed_mentions == {"parse": []}
    assert "embeds.0.title" in fake_discord.violations[0].problems[0]


class Persistent(discord.ui.View):
    """A view with a fixed custom id that survives restarts (timeout=None)."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Ping", custom_id="persistent:ping")
    async def ping(
        self, interaction: discord.Interaction, _: discord.ui.Button[Persistent]
    ) -> None:
        """Answer with the id of the client process that handled the click."""
        await interaction.response.send_message(
            f"pong from {id(interaction.client)}", ephemeral=True
        )


class PersistentBot(TinyBot):
    """The tiny bot plus a persistent view registered at start-up."""

    async def setup_hook(self) -> None:
        """Register the persistent view so old buttons keep working."""
        self.add_view(Persistent())


async def test_old_buttons_work_after_restart(
    fake_discord: FakeDiscord, running_bot: RunningBot
) -> None:
    """A message sent by one client run can be clicked after a fresh client starts."""
    first = PersistentBot()
    async with running_bot(first):
        channel = first.get_channel(fake_discord.channel.id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("press me", view=Persistent())
    second = PersistentBot()
    async with running_bot(second):
        click = await fake_discord.click(sent.id, "persistent:ping", user=fake_discord.member)
        await fake_discord.wait_for_response(click, TIMEOUT)
    reply = fake_discord.original_message(click)
    assert reply is not None and reply.content == f"pong from {id(second)}"
    assert len(fake_discord.identifies) == 2
    fake_discord.assert_clean()


def button(custom_id: str, label: str = "go") -> dict[str, Any]:
    """Return a raw button component."""
    return {"type": 2, "style": 1, "custom_id": custom_id, "label": label}


def test_message_exactly_at_the_limits_passes() -> None:
    """Content, title, fields and total size exactly at Discord's limits are accepted."""
    fields = [{"name": f"f{i:08d}", "value": "v" * 200} for i in range(25)]
    embed = {"title": "t" * 256, "description": "d" * 400, "fields": fields}
    rows = [{"type": 1, "components": [button(f"r{r}b{b}") for b in range(5)]} for r in range(5)]
    body = {"content": "c" * 2000, "embeds": [embed], "components": rows}
    assert not limits.check_message(body)


def test_message_limits_are_reported_by_path() -> None:
    """Each broken limit is reported at its JSON path, like Discord's 50035 errors."""
    embeds = [{"description": "d" * 4000}, {"description": "d" * 2001, "footer": {"text": "f"}}]
    rows = [{"type": 1, "components": [button(f"b{i}") for i in range(6)]}]
    rows += [{"type": 1, "components": [button("x" * 101, label="l" * 81)]}]
    options = [{"label": str(i), "value": str(i)} for i in range(26)]
    rows += [{"type": 1, "components": [{"type": 3, "custom_id": "s", "options": options}]}]
    rows += [{"type": 1, "components": [button("b0")]}] * 3
    errors = limits.check_message({"embeds": embeds, "components": rows})
    tree = errors.to_dict()
    assert tree["embeds"]["_errors"][0]["code"] == "MAX_EMBED_SIZE_EXCEEDED"
    assert "_errors" in tree["components"]  # six rows
    assert "_errors" in tree["components"]["0"]["components"]  # six buttons
    assert set(tree["components"]["1"]["components"]["0"]) == {"custom_id", "label"}
    assert "options" in tree["components"]["2"]["components"]["0"]
    assert "COMPONENT_CUSTOM_ID_DUPLICATED" in str(tree["components"]["3"])


def test_empty_message_is_recognised() -> None:
    """A message with no content, embeds, components or files counts as empty (50006)."""
    assert limits.is_empty_message({"content": ""}, file_count=0)
    assert not limits.is_empty_message({}, file_count=1)
    assert not limits.is_empty_message({"embeds": [{"title": "t"}]}, file_count=0)


def test_command_definitions_are_checked() -> None:
    """Names, descriptions, option counts, choice counts and option order are validated."""
    choices = [{"name": f"c{i}", "value": f"c{i}"} for i in range(26)]
    options = [
        {"type": 3, "name": "later", "description": "optional first"},
        {"type": 3, "name": "Upper", "description": "x", "required": True, "choices": choices},
    ]
    command = {"name": "ok", "description": "", "options": options}
    problems = "\n".join(limits.check_commands([command]).problems())
    assert "0.description" in problems
    assert "0.options.1.name" in problems
    assert "0.options.1.required" in problems
    assert "0.options.1.choices" in problems
    too_many = {"name": "many", "description": "d", "options": [options[0]] * 26}
    assert "0.options: Must be 25" in "\n".join(limits.check_commands([too_many]).problems())


async def test_modal_is_opened_and_submitted(
    fake_discord: FakeDiscord, running_bot: RunningBot, bot: TinyBot
) -> None:
    """A modal opened with callback type 9 can be filled in and submitted."""
    async with running_bot(bot):
        await synced(fake_discord, bot)
        opened = await fake_discord.slash("feedback")
        modal = await fake_discord.wait_for_response(opened, TIMEOUT)
        assert modal.type == 9
        field = _text_input_id(modal.data["components"])
        submitted = await fake_discord.submit_modal(opened, {field: "great"})
        await fake_discord.wait_for_response(submitted, TIMEOUT)
    reply = fake_discord.original_message(submitted)
    assert reply is not None and reply.content == "thanks: great"
    fake_discord.assert_clean()


def _text_input_id(components: list[dict[str, Any]]) -> str:
    """Return the custom id of the first text input in a modal's components."""
    for component in components:
        inner = component.get("components") or [component.get("component") or {}]
        for child in inner:
            if child.get("type") == 4:
                return str(child["custom_id"])
    raise LookupError("no text input")
