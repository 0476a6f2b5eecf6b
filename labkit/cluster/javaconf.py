"""librdkafka client settings as a Java client properties file, for Kafka's own tools (notebook 12).

A managed cluster hands out its login in librdkafka's names (``sasl.mechanisms``,
``sasl.username``, ``sasl.password``, ``ssl.ca.location``); Kafka's Java tools read other names
from the file given to ``--command-config``: ``sasl.mechanism`` and one JAAS line in
``sasl.jaas.config`` naming the login module (``PlainLoginModule`` for PLAIN,
``ScramLoginModule`` for SCRAM-SHA-256/512), and a PEM trust store (KIP-651) for a CA file.
Only the settings that make the connection are translated: tuning settings (timeouts, batching)
belong to one client, not to a login, and their names and meanings differ between the two.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import LabError

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}
# librdkafka name -> Java name, same value (CONFIGURATION.md vs the Java client's config docs)
SAME_VALUE = {"client.id": "client.id", "ssl.keystore.location": "ssl.keystore.location",
              "ssl.keystore.password": "ssl.keystore.password"}
HINT = ("give the tool your own Java properties file with --command-config, or keep to "
        "security.protocol, sasl.mechanism(s), sasl.username, sasl.password and ssl.ca.location.")


def _jaas_quote(value: str) -> str:
    """A JAAS option value in double quotes; Kafka's JaasConfig parser reads \\ and \" escapes."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def java_settings(settings: dict[str, str]) -> dict[str, str]:
    """The Java client properties that log in as the librdkafka ``settings`` do."""
    conf = {k.strip(): str(v).strip() for k, v in settings.items()}
    java: dict[str, str] = {}
    protocol = conf.pop("security.protocol", "PLAINTEXT").upper()
    if protocol not in PROTOCOLS:
        raise LabError(f"security.protocol={protocol} is not one Kafka knows.",
                       hint=f"use one of {', '.join(PROTOCOLS)}.")
    java["security.protocol"] = protocol
    mechanism = (conf.pop("sasl.mechanisms", None) or conf.pop("sasl.mechanism", None) or "").upper()
    conf.pop("sasl.mechanism", None)
    user, password = conf.pop("sasl.username", None), conf.pop("sasl.password", None)
    if protocol.startswith("SASL_"):
        mechanism = mechanism or "GSSAPI"  # both clients' default
        if mechanism not in LOGIN_MODULES:
            raise LabError(f"sasl.mechanism {mechanism} cannot be translated for Kafka's Java tools.",
                           hint=HINT)
        if user is None or password is None:
            raise LabError(f"security.protocol={protocol} with {mechanism} needs sasl.username and "
                           "sasl.password.", hint="add both lines to the client properties file.")
        java["sasl.mechanism"] = mechanism
        java["sasl.jaas.config"] = (f"{LOGIN_MODULES[mechanism]} required username={_jaas_quote(user)} "
                                    f"password={_jaas_quote(password)};")
    ca = conf.pop("ssl.ca.location", None)
    if ca and protocol.endswith("SSL"):
        java["ssl.truststore.type"] = "PEM"  # KIP-651: a PEM file as the trust store
        java["ssl.truststore.location"] = ca
    identify = conf.pop("ssl.endpoint.identification.algorithm", None)
    if identify is not None and protocol.endswith("SSL"):
        java["ssl.endpoint.identification.algorithm"] = "" if identify.lower() == "none" else identify
    for key, value in conf.items():
        if key in SAME_VALUE:
            java[SAME_VALUE[key]] = value
        elif key.startswith(("sasl.", "ssl.")) and value:
            raise LabError(f"{key} cannot be translated for Kafka's Java tools.", hint=HINT)
    return java


def _escape(text: str, key: bool = False) -> str:
    """java.util.Properties syntax: backslash escapes, and \\uXXXX beyond Latin-1's ASCII part
    (Kafka's tools load the file as ISO-8859-1)."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch in "\n\r\t\f":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f"}[ch])
        elif key and ch in "=: #!":
            out.append("\\" + ch)
        elif ord(ch) > 126 or ord(ch) < 32:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def properties_text(java: dict[str, str]) -> str:
    """``java`` as a properties file Kafka's tools read back unchanged."""
    return "".join(f"{_escape(k, key=True)}={_escape(v)}\n" for k, v in java.items())


def write(path: Path, java: dict[str, str]) -> Path:
    """Write ``java`` to ``path``, readable by its owner only (it holds a password): 0600."""
    from .lock import write_atomic
    path = Path(path)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise LabError(f"Cannot create {path.parent} ({exc.strerror or exc}).",
                       hint="set LABKIT_STATE_DIR to a folder you can write.") from None
    write_atomic(path, properties_text(java), mode=0o600)
    os.chmod(path, 0o600)  # whatever the umask
    return path
