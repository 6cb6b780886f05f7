"""Every sentence the app tells people, each written once (templates and the page's script read them too)."""

from __future__ import annotations

from datetime import UTC, datetime

# Asking
TYPE_A_QUESTION = "Type a question first."
MODEL_UNAVAILABLE = "That model is not available here. Pick another one."
PICK_A_THEME = "Pick a theme: system, light or dark."
UNKNOWN_TIME_ZONE = "That time zone is not one this server knows. Pick one from the list, like Europe/Paris."
SHARE_GONE = "This shared chat does not exist, or its owner stopped sharing it."
NOT_YOURS = "This conversation does not exist, or it is someone else’s."
NOT_YOUR_ANSWER = "This answer does not exist, or it is someone else’s."
NOT_YOUR_EXCHANGE = "This exchange is already gone, or it is someone else’s."
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
WRITING = "This answer is still being written: reload the page in a moment to see more of it."
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


def title_too_long(limit: int) -> str:
    """A chat title over the length limit."""
    return f"A title can be {limit} characters long at most."


# History
def no_such_status(status: str, statuses: tuple[str, ...]) -> str:
    """A history filter naming a status nobody stores."""
    return f"There is no status “{status}”; choose one of: {', '.join(statuses)}."


EXPORT_FORMATS = "Exports come as .csv or .ndjson."

# Requests
FOREIGN_SITE = "This form was sent from another site, so it was refused."
STALE_TOKEN = "Your session has expired or the form is out of date. Reload the page and try again."
SIGN_IN_FIRST = "Sign in first."
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
    if action == "sign in to this account":
        return f"Too many failed sign-ins to this account. Wait {wait} and try again."
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
