"""Extra jars a later lesson fetches on first use (maven.resolve through fetch.fetch_extra)."""
import io

import pytest

from labkit import config
from labkit.cluster import fetch, maven
from labkit.errors import FetchError

POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>labkit</groupId><artifactId>test-extra</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-clients</artifactId>
      <version>${kafka.version}</version></dependency>
  </dependencies>
  <build><plugins><plugin><groupId>org.apache.maven.plugins</groupId>
    <artifactId>maven-dependency-plugin</artifactId><version>2.8</version></plugin></plugins></build>
</project>
"""


@pytest.fixture
def pom(tmp_path, monkeypatch):
    fetch.fetch(out=io.StringIO())  # Kafka's own fetch filled Maven's local repository: no download
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "extra-pom.xml"
    path.write_text(POM)
    return path


def test_an_extra_is_fetched_once_and_trusted_only_whole(pom):
    assert fetch.extra_dir("extra") is None
    out = io.StringIO()
    folder = fetch.fetch_extra("extra", pom, out=out, transitive=False, required=("kafka-clients-",))
    assert folder.name == f"extra-{config.KAFKA_VERSION}" and fetch.extra_dir("extra") == folder
    assert [p.name for p in folder.glob("*.jar")] == [f"kafka-clients-{config.KAFKA_VERSION}.jar"]
    assert "Fetching extra for Kafka" in out.getvalue() and "1 jars ready" in out.getvalue()
    again = io.StringIO()
    assert fetch.fetch_extra("extra", pom, out=again) == folder and not again.getvalue(), "fetched twice"
    jar = next(folder.glob("*.jar"))
    jar.write_bytes(jar.read_bytes()[:-1])  # cut short
    assert fetch.extra_dir("extra") is None and not maven.complete(folder)
    assert not list(folder.parent.glob("*.partial-*")), "scratch folder left behind"


def test_an_extra_without_its_required_jar_is_a_fetch_error(pom):
    with pytest.raises(FetchError) as err:
        fetch.fetch_extra("extra", pom, out=io.StringIO(), transitive=False, required=("kafka-streams-",))
    assert "could not resolve extra" in err.value.message and "Maven Central" in err.value.hint
    assert fetch.extra_dir("extra") is None


def test_progress_names_a_jar_when_it_starts_and_when_it_is_done():
    out = io.StringIO()
    url = "https://repo.maven.apache.org/maven2/org/rocksdb/rocksdbjni/10.1.3/rocksdbjni-10.1.3"
    count = maven._progress(f"Downloading from central: {url}.jar", 0, out)
    count = maven._progress(f"Downloading from central: {url}.pom", count, out)  # poms are not news
    count = maven._progress(f"Downloaded from central: {url}.jar (73 MB at 9.8 MB/s)", count, out)
    assert count == 1
    assert out.getvalue().splitlines() == ["  [...] rocksdbjni-10.1.3.jar downloading",
                                           "  [  1] rocksdbjni-10.1.3.jar (73 MB)"]
