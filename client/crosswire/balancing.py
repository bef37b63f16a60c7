"""Several replicas behind one client: address lists as gRPC targets, and the channel's service config.

Balancing and retries are gRPC's own: the `round_robin` policy spreads calls over
every address a target resolves to, and the service config's `retryPolicy` resends
a call that failed with UNAVAILABLE (to the next replica, as every attempt is
balanced afresh), within `retryThrottling`'s budget and the call's deadline.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Sequence

#: Largest number of attempts gRPC allows in a retry policy (it caps higher values at 5).
MAX_ATTEMPTS = 5

#: Every Crosswire method may be sent again: Translate, Segment, Align, Compare,
#: Search and the reads (ListModels, GetArticle, ListArticles, Stats, Health) compute
#: their answer from the request alone; AddArticles keys each article by URL and by
#: content, so a resent article reads "unchanged" instead of being stored twice, and
#: DeleteArticles of what is already gone is no error. Streams (TranslateStream,
#: Health/Watch) are retried too, but gRPC commits a call once its first response
#: arrives: a stream that fails later is not resent and raises, and its caller resends
#: what got no answer. A method that must never be resent goes here as
#: "package.Service/Method"; it gets no retry policy.
NOT_RETRIED: tuple[str, ...] = ()

#: Retry budget per target, shared by every channel to it: each failed attempt costs a
#: token, each success earns `tokenRatio`; retries stop while fewer than half of
#: `maxTokens` are left, so a fleet that mostly fails is not sent a wave of resends.
#: 100 tokens absorb the in-flight calls of a replica that dies under heavy load.
RETRY_THROTTLING = {"maxTokens": 100, "tokenRatio": 0.1}


def service_config(attempts: int, policy: str = "round_robin") -> str:
    """The channel's service config (JSON): `policy` balancing, UNAVAILABLE retried up to `attempts` times in all."""
    config: dict = {"loadBalancingConfig": [{policy: {}}]}
    if attempts > 1:
        retry = {
            "maxAttempts": max(2, min(attempts, MAX_ATTEMPTS)),
            "initialBackoff": "0.2s",
            "maxBackoff": "3s",
            "backoffMultiplier": 2,
            "retryableStatusCodes": ["UNAVAILABLE"],
        }
        excluded = [{"service": name.partition("/")[0], "method": name.partition("/")[2]} for name in NOT_RETRIED]
        config["methodConfig"] = [{"name": [{}], "retryPolicy": retry}]
        if excluded:
            config["methodConfig"].append({"name": excluded})
        config["retryThrottling"] = RETRY_THROTTLING
    return json.dumps(config)


def split_host_port(address: str) -> tuple[str, str]:
    """("host", "port") of a normalised HOST:PORT or [IPV6]:PORT (brackets dropped)."""
    host, _, port = address.rpartition(":")
    return host.removeprefix("[").removesuffix("]"), port


def list_items(address: str) -> list[str]:
    """The entries of a comma-separated address list; ValueError when one is empty."""
    items = [item.strip() for item in address.split(",")]
    if not all(items):
        raise ValueError(f"invalid address list {address[:200]!r}: an entry between commas is empty")
    return items


def list_target(addresses: Sequence[str]) -> str:
    """Normalised HOST:PORT addresses as one gRPC target over all of them (`ipv4:` or `ipv6:` syntax).

    Host names are resolved here, once, to every address they have (as gRPC's DNS
    resolver does); a name whose addresses change, such as a Kubernetes headless
    Service, belongs in a `dns:///NAME:PORT` target, which gRPC re-resolves.
    Raises ValueError naming a host that does not resolve.
    """
    resolved: dict[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, str], None] = {}
    for address in addresses:
        host, port = split_host_port(address)
        for ip in _addresses(host, port):
            resolved[ipaddress.ip_address(ip), port] = None
    if all(ip.version == 4 for ip, _ in resolved):
        return "ipv4:" + ",".join(f"{ip}:{port}" for ip, port in resolved)
    # gRPC's static targets take one family: IPv4 addresses join as IPv4-mapped IPv6 ones (::ffff:a.b.c.d).
    return "ipv6:" + ",".join(f"[{ip if ip.version == 6 else f'::ffff:{ip}'}]:{port}" for ip, port in resolved)


def _addresses(host: str, port: str) -> list[str]:
    """`host` itself when it is an IP address, else every address it resolves to, in the resolver's order."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ValueError(f"cannot resolve {host!r} in the address list: {reason}") from None
    return list(dict.fromkeys(str(info[4][0]).partition("%")[0] for info in found))


def tls_name(address: str) -> str | None:
    """The name a server certificate must carry for an address list (its first host, as written), else None.

    gRPC would otherwise check each replica's certificate against the whole list.
    """
    listed = address.strip().removeprefix("ipv4:").removeprefix("ipv6:")
    if "," not in listed or "://" in listed:
        return None
    first = listed.split(",")[0].strip()
    if first.startswith("["):
        return first[1:].partition("]")[0] or None
    return first if first.count(":") > 1 else first.partition(":")[0] or None
