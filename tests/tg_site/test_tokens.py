"""Tokens: shown once, stored as a hash, refused when unknown, forged, revoked or expired."""

from __future__ import annotations

import sqlite3
import time

import pytest

from tg_site import Catalogue, Role, Store, TokenError, TokenStore


@pytest.fixture
def tokens(tmp_path):
    catalogue = Catalogue.open(Store(tmp_path))
    yield TokenStore(catalogue)
    catalogue.close()


def test_a_token_verifies_and_only_its_hash_is_stored(tmp_path, tokens):
    token, info = tokens.create(Role.STATION, name="kuavo-3", station="st-03")
    assert tokens.verify(token) == info
    assert (info.role, info.station, info.expires, info.revoked) == (Role.STATION, "st-03", None, None)
    database = (tmp_path / "catalogue.sqlite").read_bytes() + (tmp_path / "catalogue.sqlite-wal").read_bytes()
    secret = token.split("_", 2)[2]  # tgs_<id>_<secret>; the secret's own alphabet has "_"
    assert token.encode() not in database and secret.encode() not in database
    with sqlite3.connect(tmp_path / "catalogue.sqlite") as db:
        assert db.execute("select count(*) from tokens").fetchone() == (1,)


def test_unknown_and_forged_tokens_are_refused(tokens):
    token, _ = tokens.create(Role.REVIEWER, name="ana")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for bad in (forged, "tgs_000000000000_" + "x" * 43, "hello", ""):
        with pytest.raises(TokenError, match="unknown token: it was never issued by this site"):
            tokens.verify(bad)


def test_revoked_and_expired_tokens_are_refused(tokens):
    token, info = tokens.create(Role.RESEARCHER, name="rui")
    assert tokens.revoke("rui").revoked is not None
    with pytest.raises(TokenError, match="token 'rui' was revoked; ask an admin for a new one"):
        tokens.verify(token)
    short, info = tokens.create(Role.UPLOADER, name="importer", ttl_days=0.5 / 86_400)
    time.sleep(0.6)
    with pytest.raises(TokenError, match="token 'importer' has expired"):
        tokens.verify(short)
    assert tokens.revoke(info.id).name == "importer"  # by id too
    assert [(t.name, t.state()) for t in tokens.list()] == [("rui", "revoked"), ("importer", "revoked")]


def test_bad_token_requests_are_refused(tokens):
    with pytest.raises(TokenError, match="a station token needs the station id"):
        tokens.create(Role.STATION, name="x")
    with pytest.raises(TokenError, match="only station tokens name a station; admin tokens do not"):
        tokens.create(Role.ADMIN, name="x", station="st-01")
    with pytest.raises(TokenError, match="--ttl-days must be positive"):
        tokens.create(Role.ADMIN, name="x", ttl_days=0)
    with pytest.raises(TokenError, match="a token needs a name"):
        tokens.create(Role.ADMIN, name=" ")
    tokens.create(Role.ADMIN, name="root")
    with pytest.raises(TokenError, match="a token named 'root' exists already"):
        tokens.create(Role.ADMIN, name="root")
    with pytest.raises(TokenError, match="no token named 'nobody'"):
        tokens.revoke("nobody")
