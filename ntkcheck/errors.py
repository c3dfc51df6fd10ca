"""User-facing errors.

Every problem caused by the user's input (a spec, a data file, a command-line value) raises
:class:`NtkcheckError` with a one-line message naming the problem.  The CLI prints it as
``ntkcheck: error: <message>`` and exits with status 2, without a traceback.
"""


class NtkcheckError(ValueError):
    """Bad user input: the message is one line and names the problem."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))
