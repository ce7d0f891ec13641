"""Domain errors. Each message is one line a user can act on; none ever carries a secret."""


class ThreadloomError(Exception):
    """Base for errors the app reports to the user as they are."""


class NotFound(ThreadloomError):
    pass


class EmptyMessage(ThreadloomError):
    def __init__(self) -> None:
        super().__init__("the message is empty: type something to send")


class ModelUnavailable(ThreadloomError):
    """No usable model file: missing, corrupt, truncated or of the wrong kind."""


class WorkerDied(ThreadloomError):
    """The model worker process ended while it was serving a request."""


class WorkerHung(WorkerDied):
    """The model worker went silent past its deadline and was stopped (not retried: it would cost the wait again)."""


class GenerationFailed(ThreadloomError):
    """The worker reported an error for one request; the worker itself is still usable."""


class Busy(ThreadloomError):
    """The thread already has a reply streaming."""


class SetupError(ThreadloomError):
    """The machine or data directory cannot be used (not writable, no space, missing tool)."""


class StorageFull(ThreadloomError):
    def __init__(self) -> None:
        super().__init__("the disk is full: free some space and try again; everything saved before is intact")


class InvalidInput(ThreadloomError):
    """A value the user gave breaks a documented limit or format; the message says which and why."""


class PromptTooLong(GenerationFailed):
    """The prompt does not fit the model's window even after the context builder folded and left out what it could."""


class ConsentRequired(ThreadloomError):
    """A hosted model would be used, but the thread's privacy rule does not allow it (or asks first)."""


class ConfirmationNeeded(ConsentRequired):
    """The thread asks before its content leaves the machine: the user's yes for this turn lets `model` answer."""

    def __init__(self, message: str, *, model: str) -> None:
        super().__init__(message)
        self.model = model


class OfflineMode(ThreadloomError):
    """The global offline switch is on: no hosted call and no download leaves this machine."""


class SecretStoreUnavailable(ThreadloomError):
    """No usable OS keyring: API keys are not stored anywhere else."""


class HostedError(ThreadloomError):
    """A hosted endpoint refused or failed a request. Never carries the API key."""


class DownloadCancelled(ThreadloomError):
    """The user stopped a download; the partial file is kept so the next pull resumes it."""
