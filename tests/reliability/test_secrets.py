"""Secrets: a provider's error body is scrubbed of the key before it is cut; no credentials are stored in a base URL;
a document's password comes from a prompt or standard input, never from the command line."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pymupdf
import pytest
from hostile import assert_one_line_error, run_cli
from servers import MemoryKeyring

from app.core.domain import ChatTurn, GenerationRequest, Role, SamplingParams
from app.core.errors import HostedError, InvalidInput
from app.platform.secrets import KeyringSecrets
from app.runtime.hosted import ERROR_BODY_LIMIT, HostedBackend
from app.services.providers import ProviderService
from app.store.routing import RoutingStore

KEY = "sk-secret-" + "0123456789abcdef" * 3


@pytest.fixture
def refusing_endpoint():
    """An endpoint on 127.0.0.1 that answers 401 with the body a test puts in `bodies`, then its port."""
    bodies: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(401)
            self.end_headers()
            self.wfile.write(bodies.pop(0))

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield bodies, server.server_address[1]
    server.shutdown()
    server.server_close()


def fragments(secret: str, length: int = 8) -> set[str]:
    return {secret[i : i + length] for i in range(len(secret) - length + 1)}


@pytest.mark.parametrize("offset", [ERROR_BODY_LIMIT - 20, ERROR_BODY_LIMIT - 1, 0, 5000])
def test_the_key_is_scrubbed_from_an_error_body_before_it_is_cut(refusing_endpoint, offset):
    bodies, port = refusing_endpoint
    bodies.append(b"e" * offset + f'{KEY} was refused", "echo": "{KEY}"}}'.encode() + b"\n tail" * 50)  # key at offset
    backend = HostedBackend(provider="acme", base_url=f"http://127.0.0.1:{port}/v1", model="m", api_key=KEY)
    request = GenerationRequest((ChatTurn(Role.USER, "hi"),), SamplingParams())
    with pytest.raises(HostedError) as caught:
        list(backend.generate(request))
    message = str(caught.value)
    assert "HTTP 401" in message and "\n" not in message
    assert not any(piece in message for piece in fragments(KEY)), message
    if offset + len("[key]") <= ERROR_BODY_LIMIT:
        assert "[key]" in message


@pytest.mark.parametrize(
    "url",
    ["https://user:hunter2@api.acme.test/v1", "https://tok3n@api.acme.test/v1", "https://api.acme.test/v1?api_key=sk-1",
     "https://api.acme.test/v1?access_token=abc"],  # fmt: skip
)
def test_a_base_url_with_credentials_is_refused_and_nothing_is_stored(store, url):
    keyring = MemoryKeyring()
    providers = ProviderService(RoutingStore(store), KeyringSecrets("scope", backend=keyring))
    with pytest.raises(InvalidInput) as caught:
        providers.add("acme", base_url=url, model="m", api_key=KEY)
    assert not any(secret in str(caught.value) for secret in ("hunter2", "tok3n", "sk-1", "=abc"))
    assert providers.list() == [] and keyring.secrets == {}


def test_a_base_url_with_a_harmless_query_is_kept(store):
    providers = ProviderService(RoutingStore(store), KeyringSecrets("scope", backend=MemoryKeyring()))
    added = providers.add("azure", base_url="https://x.test/v1?api-version=2024-06-01", model="m", api_key=KEY)
    assert added.base_url == "https://x.test/v1?api-version=2024-06-01"


def test_the_cli_refuses_credentials_in_a_base_url_in_one_line(tmp_path):
    result = run_cli(tmp_path / "data", "providers", "add", "acme", "--base-url", "https://me:hunter2@api.acme.test/v1",
                     "--model", "m", input=KEY + "\n")  # fmt: skip
    line = assert_one_line_error(result, "user name or password")
    assert "hunter2" not in line


@pytest.fixture
def encrypted_pdf(tmp_path):
    path = tmp_path / "locked.pdf"
    document = pymupdf.open()
    document.new_page().insert_text((72, 72), "The vault holds seven otters.")
    document.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="opensesame", owner_pw="owner-only")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("flag", ["--password-stdin", "--password"])
def test_attach_reads_the_password_from_standard_input(tmp_path, models_dir, encrypted_pdf, flag):
    data = tmp_path / "data"
    created = run_cli(data, "import", str(_one_thread_export(tmp_path)), "--json")
    thread = json.loads(created.stdout)["imported"][0]["id"]
    result = run_cli(data, "attach", "--thread", str(thread), "--no-summary", "--json", str(encrypted_pdf), flag,
                     models_dir=models_dir, input="opensesame\n", timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    [attachment] = json.loads(result.stdout)
    assert attachment["status"] == "ready" and attachment["pages"] == 1


def test_attach_refuses_a_password_on_the_command_line(tmp_path, encrypted_pdf):
    data = tmp_path / "data"
    created = run_cli(data, "import", str(_one_thread_export(tmp_path)), "--json")
    thread = json.loads(created.stdout)["imported"][0]["id"]
    result = run_cli(data, "attach", "--thread", str(thread), "--password", "opensesame", str(encrypted_pdf))
    line = assert_one_line_error(result, "--password takes no value", "--password-stdin")
    assert "opensesame" not in line


def _one_thread_export(tmp_path):
    path = tmp_path / "one.json"
    mapping = {"root": {"parent": None, "children": ["u"], "message": None},
               "u": {"parent": "root", "children": [], "message": {"author": {"role": "user"},
                     "content": {"content_type": "text", "parts": ["files"]}}}}  # fmt: skip
    path.write_text(json.dumps([{"title": "Files", "id": "files", "mapping": mapping, "current_node": "u"}]))
    return path
