"""Run a peer of Crosswire offline, inside the peers' virtual env (see setup.sh).

    peer.py install PACKAGE.argosmodel    # into $ARGOS_PACKAGES_DIR
    peer.py argos INPUT OUTPUT.json       # argostranslate's Python API on a whole file
    peer.py libretranslate [ARGS...]      # LibreTranslate's HTTP server

benchmarks/throughput.py calls this with XDG_*/ARGOS_* variables pointing into a
temporary folder, so nothing touches the user's own argos packages. Nothing may
reach the network: name lookups of other hosts fail at once.

Argos splits each line into sentences with stanza, but the stanza model inside
the zh→en 1.9 package predates the stanza that pip installs (it fails to load:
KeyError 'feat_dropout'); argos would fetch a new one from the network. Offline,
each line is taken as one sentence instead, which the benchmark's input is (one
sentence per line). That spares the peers the splitter's time, so it favours them.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path

_LOCAL = {"127.0.0.1", "localhost", "::1", "0.0.0.0", None}


def stay_offline() -> None:
    """Refuse every name lookup except loopback; take each line as one sentence (see above)."""
    lookup = socket.getaddrinfo

    def local_only(host, *args, **kwargs):
        if host not in _LOCAL:
            raise socket.gaierror(socket.EAI_NONAME, f"offline benchmark: no network for {host}")
        return lookup(host, *args, **kwargs)

    socket.getaddrinfo = local_only
    from argostranslate import sbd

    for splitter in (sbd.StanzaSentencizer, sbd.MiniSBDSentencizer):
        splitter.split_sentences = lambda self, text: [text]


def install(package: Path) -> None:
    """Install the .argosmodel into $ARGOS_PACKAGES_DIR."""
    from argostranslate import package as argos_package

    argos_package.install_from_path(package)
    print("installed", ", ".join(map(str, argos_package.get_installed_packages())))


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def argos(source: Path, output: Path) -> None:
    """Translate the whole file as one text (argos translates it line by line) and time it."""
    from argostranslate import translate

    text = source.read_text(encoding="utf-8").rstrip("\n")
    translate.translate("预热。", "zh", "en")  # loads the model and the sentence splitter
    began, cpu = time.perf_counter(), time.process_time()
    translated = translate.translate(text, "zh", "en")
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    output.write_text(json.dumps({"seconds": seconds, "cpu_s": cpu, "outputs": translated.split("\n"),
                                  "peak_rss_mb": peak_rss_mb()}), encoding="utf-8")


def libretranslate(args: list[str]) -> None:
    from libretranslate.main import main

    sys.argv = ["libretranslate", *args]
    main()


if __name__ == "__main__":
    stay_offline()
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "install":
        install(Path(rest[0]))
    elif command == "argos":
        argos(Path(rest[0]), Path(rest[1]))
    elif command == "libretranslate":
        libretranslate(rest)
    else:
        sys.exit(f"unknown command {command!r}: expected install, argos or libretranslate")
