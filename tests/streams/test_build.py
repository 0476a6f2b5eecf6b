"""labkit.streams.build: Kafka Streams' jars fetched once, the app compiled once per source."""
import hashlib
import io
from pathlib import Path

from labkit import KAFKA_VERSION
from labkit.cluster import fetch
from labkit.streams import build


def test_jars_are_the_pinned_release():
    folder = build.jars(io.StringIO())
    assert folder == fetch.extra_dir("kafka-streams")
    names = {p.name for p in folder.glob("*.jar")}
    assert f"kafka-streams-{KAFKA_VERSION}.jar" in names and f"kafka-clients-{KAFKA_VERSION}.jar" in names
    assert any(n.startswith("rocksdbjni-") for n in names)


def test_compiled_once_per_source():
    first = build.compiled(io.StringIO())
    assert (first / "WindowedCount.class").is_file()
    key = hashlib.sha256(build.SOURCE.read_bytes())
    key.update(f"{KAFKA_VERSION}\n{Path(build.javac()).resolve()}".encode())
    assert first.name == key.hexdigest()[:16]  # keyed by the source, the release and the JDK
    stamp = (first / "WindowedCount.class").stat().st_mtime_ns
    out = io.StringIO()
    assert build.compiled(out) == first and "Compiling" not in out.getvalue()
    assert (first / "WindowedCount.class").stat().st_mtime_ns == stamp  # not compiled again
