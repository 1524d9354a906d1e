"""The one exception type that means "the user's input is wrong".

Anything raised as ``UserInputError`` is shown to the user as a single line on
stderr (no traceback); the full traceback still goes to the job's log file.
"""


class UserInputError(Exception):
    """Bad data, bad config or an unusable path: something the user can fix."""
