"""Every sentence the app tells people, each written once (templates and the page's script read them too)."""

from __future__ import annotations

from datetime import UTC, datetime

# Asking
TYPE_A_QUESTION = "Type a question first."
MODEL_UNAVAILABLE = "That model is not available here. Pick another one."


def model_gone(model: str) -> str:
    """A model the operator withdrew after a chat used it: it is not asked again."""
    return (
        f"The model that wrote this answer, {model}, is no longer offered here, so it was not asked. "
        "Send your question again below: the model the composer offers will answer it."
    )


def model_not_yours(model: str) -> str:
    """A model kept for groups the person is not (or no longer) in."""
    return (
        f"The model that wrote this answer, {model}, is kept for groups you are not in, so it was not asked. "
        "Send your question again below: the model the composer offers will answer it."
    )


PICK_A_THEME = "Pick a theme: system, light or dark."
UNKNOWN_TIME_ZONE = "That time zone is not one this server knows. Pick one from the list, like Europe/Paris."
NOT_YOURS = "This conversation does not exist, or it is someone else’s."
NOT_YOUR_ANSWER = "This answer does not exist, or it is someone else’s."
NOT_YOUR_EXCHANGE = "This exchange is already gone, or it is someone else’s."
NEWER_ELSEWHERE = (
    "This chat went on in another tab or window: what was added is shown above. "
    "Your question is kept here: send it again to ask after it."
)
ANSWER_STILL_RUNNING = (
    "The answer above is still being written. Your question is kept here: "
    "send it once the answer is finished, or stop the answer first."
)
DATABASE_AWAY = (
    "The database is not answering right now, so your question was not sent. "
    "It is still here: send it again in a moment."
)


def question_too_long(length: int, limit: int) -> str:
    """A question over the length limit."""
    return f"Your question is {length:,} characters long; the limit is {limit:,}. Shorten it and send again."


# The composer's counter past the limit: the page's script puts the number of characters over it first.
CHARACTERS_OVER = "too many. Shorten your question to send it; nothing has been cut."


# Answers
ANSWER_AWAY = "The database is not answering right now; reload the page in a moment to see this answer."
STREAMS_FULL = (
    "Too many answers are streaming to your address at once. "
    "Wait for one to finish, then send your question again."
)
FOLLOWERS_FULL = "Too many windows follow this answer at once. Close one, then reload this page."
INTERRUPTED = "This answer was interrupted before it was complete."
STOPPED = "Stopped."
STOPPED_DISABLED = "This answer was stopped because your account was disabled."
WRITING = "This answer is still being written: reload the page in a moment to see more of it."
STILL_WRITTEN_WHEN_COPIED = "This answer was still being written when this copy was made."
STALLED = "This answer stopped arriving. Reload the page later to see whether it was finished."
SPOOLED = "Saved locally; it will be stored when the database is back."
UNEXPECTED_IN_ANSWER = "Something went wrong while answering. Try again."

# The model
MODEL_UNREACHABLE = "Could not reach the model server. Try again in a moment."
MODEL_DROPPED = "The connection to the model dropped; the answer is cut off."
MODEL_ENDED_EARLY = "The model ended the answer early; it may be cut off."
MODEL_UNREADABLE = "The model sent a response this app cannot read."


def model_failed(detail: str) -> str:
    """A model that reported an error in the middle of its answer, in its own words."""
    return f"The model failed while answering: {detail}"


def model_did_not_answer(seconds: float) -> str:
    """A model that sent nothing within its timeout."""
    return f"The model did not answer within {seconds:g} s."


def model_went_quiet(seconds: float) -> str:
    """A model that stopped sending mid-answer for as long as it may."""
    return f"The model stopped sending for {seconds:g} s; the answer is cut off."


def model_refused(status: int, model: str) -> str:
    """A model server's error status, in words for the person who asked."""
    if status in (401, 403):
        return f"The model server did not accept the key this app uses ({status}), so nothing was answered."
    if status == 404:
        return f"The model “{model}” is not available on its server (404)."
    if status == 429:
        return "The model server is busy or out of quota (429). Try again in a moment."
    if status >= 500:
        return f"The model server failed ({status}). Try again in a moment."
    return f"The model server could not take this question ({status})."


# Chats
TYPE_A_TITLE = "Type a title for the chat."


# Usage and deletion
DELETED_BY_OWNER = "deleted by its owner"
TOKENS_ESTIMATED = (
    "≈ marks counts that include tokens counted here, because the model server reported none "
    "(an answer stopped or cut off): an estimate."
)
ERASED_PEOPLE = "erased people"
ERASED_USAGE_STAYS = "Their usage stays counted, under “erased people”, without their name."


def deleting(kind: str, erases: bool) -> str:
    """What deleting a conversation or an exchange does, said before it is confirmed."""
    what = (
        "The conversation and every question and answer in it"
        if kind == "conversation"
        else "The question and its answer"
    )
    if erases:
        return f"{what} will be gone for good."
    return (
        f"{what} will be gone from your chats, history and search. The operator keeps a copy, "
        "marked as deleted by you, until the retention period removes it."
    )


def title_too_long(limit: int) -> str:
    """A chat title over the length limit."""
    return f"A title can be {limit} characters long at most."


# Folders, pins and the sidebar's search
TYPE_A_FOLDER_NAME = "Type a name for the folder."
NOT_YOUR_FOLDER = "This folder does not exist, or it is someone else’s."
FOLDER_EMPTY = "No chats in this folder yet. Move one here from its ⋯ menu."
NO_CHAT_MATCHES = "No chat matches. Search looks in titles, questions and answers."
FOLDER_INSTRUCTIONS_HELP = (
    "Sent with every question of every chat in this folder: after the server’s instructions and "
    "your own, before the chat’s own. Empty: none."
)
DELETING_A_FOLDER = "Its chats stay, out of any folder; its name and instructions go."


def folder_name_too_long(limit: int) -> str:
    """A folder name over the length limit."""
    return f"A folder name can be {limit} characters long at most."


def too_many_folders(limit: int) -> str:
    """A person who has as many folders as the app keeps."""
    return f"You have {limit} folders, the most there can be. Delete one to make another."


def too_many_pins(limit: int) -> str:
    """A person who has pinned as many chats as the sidebar shows."""
    return f"You have pinned {limit} chats, the most there can be. Unpin one to pin another."


# Groups
GROUP_NAME_MISSING = "Give the group a name."
QUOTA_NOT_A_NUMBER = "Type a whole number above 0, or leave it blank for the default."
NO_SUCH_PERSON = "Pick a person from the list: there is no such account."


def group_name_too_long(limit: int) -> str:
    """A group's name past its column."""
    return f"A group's name is at most {limit} characters long."


def group_name_taken(name: str) -> str:
    """A group's name another group already has (names are compared without case)."""
    return f"There is already a group named “{name[:64]}”. Pick another name."


def group_keeps_models(models: list[str]) -> str:
    """A group that alone may use some models: deleting it would open them to everyone."""
    return (
        f"Only this group may use {', '.join(models)}: deleting it would open "
        f"{'them' if len(models) > 1 else 'it'} to everyone. Untick {'them' if len(models) > 1 else 'it'} "
        "under Models first, or give another group the use of them."
    )


# Sharing
SHARE_GONE = "This shared chat does not exist, or its owner stopped sharing it."
PUBLIC_SHARES_OFF = "This app does not allow links that anyone can open. Share with your teammates instead."
NOTHING_TO_SHARE = "There is no finished answer on screen in this chat yet, so there is nothing to share."


def share_audience(audience: str, sign_in: str) -> str:
    """Who can open a link, in words that match what the app does with it."""
    if audience == "anyone":
        return "anyone who has the link, signed in or not"
    if sign_in == "none":
        return "anyone who can open this app and has the link"
    if sign_in == "password":
        return "people who have the link and know this app's password"
    return "people who have the link and are signed in to this app"


def share_shows(count: int) -> str:
    """What a new link will show: the branch on screen, and nothing else."""
    exchanges = "question and its answer" if count == 1 else f"{count:,} questions and their answers"
    return (
        f"A link shows the {exchanges} on screen now, in order, read-only: the versions you chose, "
        "none of the others. Questions asked later stay private, and nothing about you is shown."
    )


def share_links_per_chat(limit: int) -> str:
    """A chat with as many open links as it may have."""
    return (
        f"This chat already has {limit:,} open links, the most one chat may have. "
        "Stop sharing one to make another."
    )


def share_links_per_person(limit: int) -> str:
    """A person with as many open links as they may have, across their chats."""
    return (
        f"You already have {limit:,} open links, the most one person may have. "
        "Stop sharing one (on its chat's Share page) to make another."
    )


# History
def no_such_status(status: str, statuses: tuple[str, ...]) -> str:
    """A history filter naming a status nobody stores."""
    return f"There is no status “{status}”; choose one of: {', '.join(statuses)}. That filter is left out."


def no_such_group(value: str) -> str:
    """A history filter naming a group by something other than its number."""
    return f"There is no group “{value}”; choose one from the list. That filter is left out."


def no_such_feedback(value: str, choices: tuple[str, ...]) -> str:
    """A history filter naming feedback that is not one of its choices."""
    return f"There is no feedback “{value}”; choose one of: {', '.join(choices)}. That filter is left out."


def not_a_day(value: str) -> str:
    """A history date filter that is not a date."""
    return f"“{value}” is not a date; write one as YYYY-MM-DD, like 2025-01-31. That filter is left out."


def days_reversed(first: str, last: str) -> str:
    """A history date range that ends before it starts."""
    return f"The range from {first} to {last} ends before it starts, so the dates are left out."


FEEDBACK_CHOICES = {
    "down": "👎 thumbs down",
    "up": "👍 thumbs up",
    "any": "any feedback",
    "none": "no feedback",
}


def days_in(zone: str) -> str:
    """Which time zone the history's dates are read in."""
    if zone == "UTC":
        return "Dates are read in UTC; choose your time zone in Settings to read them in yours."
    return f"Dates are read in your time zone, {zone} (from Settings)."


EXPORT_FORMATS = "Exports come as .csv or .ndjson."
NO_SUCH_SOURCE = "Questions come from the chat (source=chat) or the API (source=api, or api:KEY NAME)."

# Feedback on answers
FEEDBACK_UP = "Good answer"
FEEDBACK_DOWN = "Bad answer"
FEEDBACK_COMMENT = "Comment"
FEEDBACK_COMMENT_LABEL = "What was good or bad about this answer (optional)"
FEEDBACK_HINT = "Press 👍 or 👎 to send the comment with it."
FEEDBACK_REMOVE = "Remove feedback"
FEEDBACK_RATINGS = "Feedback is a thumbs up (rating=up) or a thumbs down (rating=down)."


def feedback_too_long(length: int, limit: int) -> str:
    """A feedback comment past its limit."""
    return (
        f"A comment can be at most {limit:,} characters; this one has {length:,}. "
        "Shorten it to send it; nothing has been cut."
    )


def feedback_given(rating: str, comment: str | None) -> str:
    """The owner's feedback on an answer, in a download of their chat."""
    thumb = "👍 Good answer" if rating == "up" else "👎 Bad answer"
    return f"Your feedback: {thumb}" + (f": {comment}" if comment else ".")


# Requests
FOREIGN_SITE = "This form was sent from another site, so it was refused."
STALE_TOKEN = "Your session has expired or the form is out of date. Reload the page and try again."
SIGN_IN_FIRST = "Sign in first."
BEARER_NEEDED = "Send the metrics token as a bearer token (Authorization: Bearer …)."
WRONG_PASSWORD = "That password is not right."
WRONG_SIGN_IN = "That name and password do not match an account that can sign in."
NAME_TAKEN = "That name cannot be used; choose another."
BAD_NAME = "A name is 3 to 32 letters, digits, dots, dashes or underscores."
SIGN_UP_CLOSED = "New accounts are made by invitation here; ask an admin for a link."
LINK_SPENT = "This link has been used, has expired, or never existed. Ask an admin for a new one."
SIGN_IN_AGAIN = "That sign-in did not go through. Try again."
PROVIDER_AWAY = "The sign-in service is not answering right now. Try again in a moment."
PASSWORDS_DIFFER = "The two new passwords are not the same."
CURRENT_PASSWORD_WRONG = "Your current password is not right."
PASSWORD_CHANGED = "Password changed; other browsers are signed out."
OTHERS_SIGNED_OUT = "Every other browser is signed out."
OWN_ACCOUNT_CHANGE = "You cannot change your own account here; ask another admin."
OWN_ACCOUNT_ERASE = "You cannot erase your own account here; ask another admin."
DATABASE_DOWN = "The database is not answering right now. Try again in a moment."
UNEXPECTED = "Something went wrong on our side. Try again in a moment."
NOT_HANDLED = "The request could not be handled."
PLAIN = {
    400: "The request could not be understood. Reload the page and try again.",
    401: SIGN_IN_FIRST,
    404: "There is nothing at this address.",
    405: "This address does not accept that kind of request.",
    429: "Too many requests; wait a moment and try again.",
    500: UNEXPECTED,
}


def too_large(limit_bytes: int) -> str:
    """A request body over the size limit."""
    return (
        f"What you sent is larger than the {megabytes(limit_bytes)} this app accepts, "
        "so nothing was stored. Shorten it and send it again."
    )


def answers_at_once(limit: int) -> str:
    """A person with every answer place taken, on any instance."""
    return (
        f"You have {limit} answers being written already. "
        "Wait for one to finish, then send your question again."
    )


def tokens_spent(limit: int, resets: datetime) -> str:
    """A person who has used the day's tokens, and when the count starts again."""
    left = resets - datetime.now(UTC)
    hours, minutes = divmod(max(1, round(left.total_seconds() / 60)), 60)
    wait = f"{hours} h {minutes} min" if hours else f"{minutes} min"
    return f"You have used today's {limit:,} tokens. The count starts again at {resets:%H:%M} UTC, in {wait}."


def too_many(action: str, retry_after: int) -> str:
    """A rate-limited request: asking, signing in, or anything else."""
    wait = f"{retry_after} second{'s' if retry_after != 1 else ''}"
    if action == "ask":
        return f"You are asking faster than this app allows. Wait {wait}, then send your question again."
    if action == "sign in":
        return f"Too many sign-in attempts from your address. Wait {wait} and try again."
    if action == "share":
        return f"You are making links faster than this app allows. Wait {wait}, then try again."
    if action == "sign in to this account":
        return f"Too many failed sign-ins to this account from your address. Wait {wait} and try again."
    if action == "sign in to this account again":
        return f"Sign-ins to this account are slowed down after many failures. Wait {wait} and try again."
    if action == "change the password":
        return f"Too many wrong current passwords for this account. Wait {wait} and try again."
    return f"Too many requests from your address. Wait {wait} and try again."


def instructions_too_long(limit: int) -> str:
    """Instructions longer than the app takes."""
    return f"Instructions can be at most {limit:,} characters long."


def temperature_between(low: float, high: float) -> str:
    """A temperature outside the operator's bounds, or not a number."""
    return f"The temperature must be a number from {low:g} to {high:g} (or empty, for the default)."


# Files in a question
FILE_KINDS = "images (PNG, JPEG, WebP, the first frame of a GIF), PDF, Word (.docx) and plain text"
IMAGE_UNREADABLE = "this image could not be read: it is damaged, or not the image its first bytes say."
IMAGE_BOMB = "this image unpacks to far more pixels than its size suggests (a decompression bomb)."
PDF_LOCKED = "this PDF is protected by a password. Remove the password and attach it again."
DOCUMENT_BROKEN = "this file is damaged, or not what its first bytes say, so it could not be read."
DOCUMENT_TOO_HUNGRY = "reading it needed more memory than this app gives one file."
DOCX_BOMB = "this Word document unpacks to far more than its size (a zip bomb), so it was not opened."
NOT_A_DOCX = "this is a zip archive but not a Word document (.docx)."
NO_TEXT_IN_FILE = "No text could be read from it (it may be scanned pages)."
UPLOAD_CUT = "The upload was cut off before it ended, so nothing was stored. Attach the files again."
FILES_NOT_SHARED = "Files are not shared; the person who shared this chat attached:"
FILE_ATTACHED = "attached"


def about_file(name: str, reason: str) -> str:
    """Why one attached file was refused; nothing of the question was sent or kept."""
    return f"“{name}”: {reason} Nothing was sent."


def file_empty(name: str) -> str:
    """An attached file with nothing in it."""
    return about_file(name, "this file is empty.")


def file_unsupported(name: str) -> str:
    """An attached file whose bytes are none of the kinds the app reads."""
    return about_file(name, f"this is not a kind of file this app reads: {FILE_KINDS}.")


def file_too_large(name: str, size: int, limit_mb: int) -> str:
    """One file over MAX_UPLOAD_MB."""
    return about_file(name, f"it is {megabytes(size)}; each file may be {limit_mb:,} MB at most.")


def files_too_large(size: int, limit_mb: int) -> str:
    """A question's files together over MAX_UPLOAD_MB_PER_QUESTION."""
    return (
        f"These files are {megabytes(size)} together; one question's files may be {limit_mb:,} MB at most. "
        "Nothing was sent."
    )


def too_many_files(count: int, limit: int) -> str:
    """More files than MAX_FILES_PER_QUESTION."""
    return f"{count} files are attached; one question takes {limit} at most. Nothing was sent."


def upload_day_spent(limit_mb: int, resets: datetime) -> str:
    """A person past UPLOAD_MB_PER_DAY."""
    return (
        f"These files would take you past today's {limit_mb:,} MB of files. "
        f"The count starts again at {resets:%H:%M} UTC. Nothing was sent."
    )


def cannot_see(model: str) -> str:
    """An image asked about a model the operator did not name in VISION_MODELS."""
    return f"The model “{model}” cannot see images. Pick one that can, or remove the image. Nothing was sent."


def image_too_large(width: int, height: int, limit: int) -> str:
    """An image with more pixels than the app opens."""
    return f"this image is {width:,} × {height:,} pixels; the limit is {limit / 1_000_000:g} million pixels."


def document_too_slow(seconds: float) -> str:
    """A document whose reading was stopped at its time limit."""
    return f"reading it took longer than {seconds:g} s, so it was stopped."


def file_note(pages: int | None, read_pages: int | None, chars: int, cut: bool) -> str:
    """How much of a file was read, when not all of it."""
    if not cut:
        return ""
    if pages and read_pages is not None and read_pages < pages:
        return f"Only the first {read_pages:,} of {pages:,} pages were read."
    return f"Only the first {chars:,} characters were read."


def megabytes(size: int) -> str:
    """A size in bytes as people read it."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


# The API (read by whoever writes the program that calls it)
API_CALLS = "API calls"
API_KEY_MISSING = "Send your API key in the Authorization header, as Authorization: Bearer ga-…"
API_KEY_WRONG = (
    "This API key is not valid: it is unknown or revoked, or its person is disabled. "
    "Make a new one on your account page."
)
API_KEY_IN_ADDRESS = (
    "API keys are refused in the address, where logs keep them: send the key in the Authorization "
    "header instead, and revoke the key you sent."
)
API_NEEDS_ACCOUNTS = "The API needs people to sign in with accounts here; ask the operator to set SIGN_IN."
API_NOT_JSON = "The body of the request is not a JSON object."
API_NO_MODEL = "Name the model to use: `model` is missing."
API_NO_MESSAGES = "Send at least one message: `messages` is missing or empty."
API_ONE_ANSWER = "`n` must be 1: this app keeps one answer for each question."
API_IMAGES_LATER = "Images are not accepted here yet: send text parts only."
API_UNKNOWN_ADDRESS = (
    "There is no such API address: this app serves GET /v1/models and POST /v1/chat/completions."
)
API_KEY_NAME = "Give the key a name of up to 64 characters, to tell it apart from your others."
API_KEY_MADE = "Your new key is below. Copy it now: it is shown only this once."
API_KEY_REVOKED = "The key is revoked: it no longer works."
API_KEY_GONE = "This key does not exist, or it is already revoked."
API_ANSWER_STOPPED = "The answer was stopped before it was complete."


def api_model_not_yours(name: str) -> str:
    """An API call naming a model kept for groups the caller is not in."""
    return f"The model “{name[:100]}” is kept for groups you are not in. GET /v1/models lists yours."


def api_unknown_model(name: str) -> str:
    """An API call naming a model that is not offered here, or hidden."""
    return f"The model “{name[:100]}” does not exist here, or you may not use it. GET /v1/models lists yours."


def api_too_many_messages(count: int, limit: int) -> str:
    """An API call with more messages than the app takes."""
    return f"The request has {count:,} messages; at most {limit:,} are accepted."


def api_bad_field(name: str, must: str) -> str:
    """An API call with a field whose value cannot be used."""
    return f"`{name}` {must}."


def api_unknown_part(name: str, kind: str) -> str:
    """A message content part of a type the API does not know."""
    return f"`{name}` is a content part of type “{kind[:40]}”, which is not accepted: send text parts."


def source(key_name: str | None) -> str:
    """Where a question came from: the chat, or the API with the name of its key."""
    return f"API · {key_name}" if key_name is not None else "Chat"


# Webhooks (the admins' page of events waiting and dead)
NO_WEBHOOKS = (
    "No webhooks are set up. Name the endpoints in WEBHOOK_URLS (and WEBHOOK_SECRET) for every "
    "finished exchange, piece of feedback and admin action to be sent to them."
)
NO_EVENTS_WAITING = "Every event has been delivered: none is waiting, and none is dead."
EVENTS_DEAD_NOTE = (
    "A dead event failed for 24 hours. Send it again once its endpoint is back: it goes out "
    "before the endpoint's later events."
)
ENDPOINT_NOT_HERE = (
    "This endpoint is no longer in this instance's settings: its events are not sent from here."
)
EVENT_GONE = "This event is not dead (it was sent again already), or it does not exist."

# The admin settings page
SETTINGS_SAVED = "Saved. Every instance uses the new settings within a few seconds."
SETTINGS_UNCHANGED = "Nothing changed."
SETTINGS_CONFLICT = (
    "Someone changed these settings while you were editing them: what is stored now is shown. "
    "Make your change again."
)
SETTINGS_INVALID = "Nothing was saved: correct the values marked below."
MUST_BE_POSITIVE_WHOLE = "must be a positive whole number"
MUST_BE_GIVEN = "must be given"
SERVER_URL_UNPARSED = "This is not a server address: give one like https://llm.example.org/v1."
SERVER_NAME_TWICE = "Another server has this name: give each its own."
SERVER_NEEDS_URL = "Give the server's address, like https://llm.example.org/v1."
SERVER_IS_PRIMARY = "The server LLM_BASE_URL names has this name: pick another."
DEFAULT_MUST_BE_ENABLED = "The default model must be one people may use: enable it, or pick another."
LABEL_NO_COMMA = "A display name has up to 60 characters and no comma."
SERVER_TEST_UNSAVED = "Give the server an address before testing it."


def setting_must(label: str, must: str) -> str:
    """A setting's value that cannot be used, and what it must be."""
    return f"{label} {must}."


def server_address_refused(address: str) -> str:
    """A model server at a cloud's metadata address or a link-local one."""
    return f"{address} is a link-local or cloud metadata address: model servers may not be there."


def server_address_private(address: str) -> str:
    """A model server on this machine or a private network, with private servers not allowed."""
    return (
        f"{address} is on this machine or a private network. Allow such servers first "
        "(the switch in this section, or ALLOW_PRIVATE_MODEL_SERVERS=true)."
    )


def server_unresolved(host: str) -> str:
    """A model server whose host name has no address."""
    return f"The name {host[:100]} could not be found (DNS gave no address)."


def server_listed(names: list[str]) -> str:
    """A model server that answered a test: the models it offers."""
    if not names:
        return "The server answered, but lists no models."
    shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
    return f"Connected. The server offers {len(names)} model{'s' if len(names) != 1 else ''}: {shown}."


def server_unlisted(why: str) -> str:
    """A model server that could not list its models, and why."""
    return f"The server could not be reached or refused: {why}."


def server_answered(status: object) -> str:
    """A model server's error status, in words."""
    hints = {
        401: " (check the key)",
        403: " (check the key)",
        404: " (check the address: it often ends in /v1)",
    }
    return f"it answered with status {status}{hints.get(status, '') if isinstance(status, int) else ''}"


def setting_damaged(variable: str) -> str:
    """A stored setting that cannot be read: the environment's value is used meanwhile."""
    return (
        f"The stored value of {variable} could not be read (damaged, or sealed under another SECRET_KEY): "
        "the environment's value is used until it is saved again here."
    )


def settings_contradict(error: str) -> str:
    """Stored settings that do not fit together or with the environment: the environment's are used."""
    return f"The stored settings do not fit together ({error}): the environment's values are used instead."
