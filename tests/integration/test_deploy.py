"""deploy/: the files an IT person installs are checked by the tools that will read them."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

from support.env import ROOT

DEPLOY = ROOT / "deploy"


def _site_for_test(tmp: Path, port: int, upstreams: tuple[int, int]) -> str:
    """deploy/nginx.conf with the test's ports, a self-signed certificate and files of this run."""
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    site = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    site = site.replace("127.0.0.1:5000", f"127.0.0.1:{upstreams[0]}").replace(
        "127.0.0.1:5001", f"127.0.0.1:{upstreams[1]}"
    )
    site = site.replace("listen 443 ssl", f"listen 127.0.0.1:{port} ssl").replace(
        "listen 80;", f"listen 127.0.0.1:{port + 1};"
    )
    site = site.replace("/etc/ssl/hallq/fullchain.pem", str(cert)).replace("/etc/ssl/hallq/privkey.pem", str(key))
    site = site.replace("/var/log/nginx/", f"{tmp}/").replace("/opt/hallq/server/static/", f"{ROOT}/server/static/")
    directives = "\n".join(line.split("#")[0] for line in site.splitlines())
    assert not re.search(r"/(etc|var|opt)/", directives), directives  # nothing left pointing at the real machine
    return site


def test_the_nginx_site_passes_nginx_t(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).exists(), "nginx is not installed (scripts/bootstrap.sh installs it)"
    (tmp_path / "site.conf").write_text(_site_for_test(tmp_path, 18443, (15000, 15001)), encoding="utf-8")
    temp = " ".join(f"{k}_temp_path {tmp_path}/{k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n access_log off;\n {temp}\n include {tmp_path}/site.conf;\n}}\n",
        encoding="utf-8",
    )
    done = subprocess.run([nginx, "-t", "-c", str(main), "-p", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr
    site = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    assert re.search(r"upstream hallq \{\s*ip_hash;", site), "sticky sessions"
    assert "X-Forwarded-For $remote_addr" in site  # one proxy that overwrites the header: proxy_hops = 1


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    text = (DEPLOY / "hallq@.service").read_text(encoding="utf-8")
    parsed = configparser.ConfigParser(strict=False, interpolation=None)
    parsed.optionxform = str  # type: ignore[assignment,method-assign]
    parsed.read_string(text)
    assert parsed["Service"]["ExecStart"].endswith("--port %i")
    assert parsed["Install"]["WantedBy"] == "multi-user.target"
    analyze = shutil.which("systemd-analyze")
    if analyze is None:  # no systemd here: the keys parsing (above) is what can be checked
        return
    hallq = ROOT / ".venv/bin/hallq"
    unit = tmp_path / "hallq@5000.service"
    unit.write_text(text.replace("/opt/hallq/.venv/bin/hallq", str(hallq)), encoding="utf-8")
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
    problems = [line for line in done.stderr.splitlines() if "hallq@5000" in line]
    assert done.returncode == 0 and not problems, done.stderr


def test_the_example_config_is_accepted_by_the_server() -> None:
    from server.config import load_config

    config = load_config(DEPLOY / "hall.example.toml")
    settings = config.settings
    assert settings.database.startswith("postgresql") and settings.message_queue and settings.proxy_hops == 1
