"""User-facing errors: one line, exit status 2, no traceback."""


class HarnessError(Exception):
    """Bad input or a condition the user can fix. The CLI prints it as one line."""


class UnknownNameError(HarnessError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])
