"""The environment helper processes start with: what they need to run, and nothing else from the user's shell.

The model and embedder workers, the attachment reader and pip are started isolated (`python -I`: no code from the
current directory, no PYTHON* variables read); they also get a scrubbed copy of the environment, so a secret the
shell holds (an API key, a token) never reaches them, nor does a variable that changes how Python or the dynamic
loader behaves (PYTHON*, LD_PRELOAD). An allow-list: a new variable in the user's shell stays out by default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# Where things are, who and where the user is, and the machine's basics (Windows needs SYSTEMROOT for sockets).
_KEPT = frozenset(
    ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP",
     "SYSTEMROOT", "WINDIR", "COMSPEC", "PATHEXT", "USERPROFILE", "LOCALAPPDATA", "APPDATA")
)  # fmt: skip
# Locale, and the thread-pool knobs of llama.cpp's runtime a user may set on purpose.
_KEPT_PREFIXES = ("LC_", "OMP_", "GGML_")
# A download also needs the proxy and the certificate authorities the machine uses, and pip its own configuration
# (PIP_INDEX_URL, PIP_FIND_LINKS, PIP_CERT...: the user's settings for pip, which only pip sees).
_NETWORK = frozenset(
    ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")
)
_NETWORK_PREFIXES = ("PIP_",)


def child_environment(*, network: bool = False, source: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables of `source` (this process's environment) a helper process may see; `network` for pip."""
    source = os.environ if source is None else source
    return {
        name: value
        for name, value in source.items()
        if name in _KEPT
        or name.startswith(_KEPT_PREFIXES)
        or (network and (name.upper() in _NETWORK or name.startswith(_NETWORK_PREFIXES)))
    }


# How much lower than the app's own a background helper process's CPU priority is (Unix niceness): ingest's file
# readers run beside a reply and take what it and the window leave. Not the embedder: it serves searches too, and
# at this niceness it embedded at a third of its speed beside other busy programs; it gives a reply its cores by
# running on one while a local turn runs (app.services.embedding).
BACKGROUND_NICENESS = 10


def run_in_background() -> None:
    """Lower this process's CPU priority, before it starts its threads (they inherit it); where there is no
    niceness (Windows), nothing changes."""
    if hasattr(os, "nice"):
        os.nice(BACKGROUND_NICENESS)
