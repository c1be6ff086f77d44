"""``python -m mule api rotate-token | url``: the API's token file, and a link to the web UI that carries it.

The other API commands (``status``, ``search``, ``publish``) share ``api_client`` from here: the address from
``api.listen`` and the token from ``api.token`` in the data dir, both overridable by flags.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mule.cli.common import settings_for
from mule.cli.exits import CommandError, Exit


def register(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("api", parents=parents, help="the local HTTP API's token and web UI link")
    actions = parser.add_subparsers(dest="api_action", metavar="ACTION", required=True)
    rotate = actions.add_parser(
        "rotate-token",
        parents=[*parents, api_options()],
        help="replace the API token (a running node accepts only the new one at once)",
    )
    rotate.set_defaults(handler=run_rotate)
    url = actions.add_parser("url", parents=[*parents, api_options()], help="print the web UI's address with the token")
    url.set_defaults(handler=run_url)


def api_options() -> argparse.ArgumentParser:
    """``--data-dir`` and ``--api`` for every command that talks to a running node."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--data-dir", metavar="DIR", help="node.data_dir: where api.token is")
    parser.add_argument("--api", metavar="HOST:PORT", help="api.listen: where the node's API listens (127.0.0.1:7670)")
    return parser


def _where(args: argparse.Namespace) -> tuple[str, int, Path]:
    settings = settings_for(args, {"node.data_dir": args.data_dir, "api.listen": args.api})
    return settings.api_listen.host, settings.api_listen.port, settings.data_dir


def api_client(args: argparse.Namespace):  # -> mule.api.client.ApiClient (imported on use: keeps --help quick)
    from mule.api.auth import TokenFileError, read_token
    from mule.api.client import ApiClient

    host, port, data_dir = _where(args)
    try:
        token = read_token(data_dir)
    except TokenFileError as exc:
        raise CommandError(f"{exc} (the node writes it on its first run with api.enabled = true)", Exit.CONFIG) from exc
    return ApiClient(host, port, token)


def run_rotate(args: argparse.Namespace) -> int:
    from mule.api.auth import rotate_token, token_path

    _, _, data_dir = _where(args)
    if not data_dir.is_dir():
        raise CommandError(f"{data_dir} is not a data dir", Exit.CONFIG)
    rotate_token(data_dir)
    print(f"new API token written to {token_path(data_dir)} (mode 0600); the old one is refused from now on")
    return Exit.OK


def run_url(args: argparse.Namespace) -> int:
    client = api_client(args)
    print(f"{client.base}/#token={client.token}")
    return Exit.OK
