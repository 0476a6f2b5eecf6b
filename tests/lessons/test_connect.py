"""The check of notebook 10 against the live Connect worker: the right connector passes, each
typical wrong one fails with a verdict that names the mistake."""
import io
import uuid

import pytest

from labkit import lessons as exercises
from labkit.connect import Worker
from helpers import verdict

TAG = {"transforms": "hoist,tag",
       "transforms.hoist.type": "org.apache.kafka.connect.transforms.HoistField$Value",
       "transforms.hoist.field": "line",
       "transforms.tag.type": "org.apache.kafka.connect.transforms.InsertField$Value",
       "transforms.tag.static.field": "origin",
       "transforms.tag.static.value": "exercise"}


@pytest.fixture(scope="module")
def worker(lab):
    """The suite cluster's Connect worker for this module, stopped afterwards (the CPU is shared)."""
    w = Worker(lab.cluster)
    w.up(out=io.StringIO())
    yield w
    w.stop(out=io.StringIO())


@pytest.fixture
def exercise(lab, worker):
    """EX_NAME, EX_FILE, EX_TOPIC as the exercise cell makes them; connectors deleted afterwards."""
    connect = worker.client()
    run = uuid.uuid4().hex[:8]
    path = connect.files / f"ex-{run}.txt"
    path.write_text("alpha\nbravo\ncharlie\n")
    topic = lab.fresh_topic(f"ex-connect-{run}", partitions=1)
    made = []

    def create(name, config):
        made.append(name)
        connect.create(name, {"connector.class": "FileStreamSource", "tasks.max": "1", **config})
    yield f"ex-{run}", path, topic, create
    for name in made:
        connect.delete(name)


def test_tagged_source_right_answer(lab, exercise, capsys):
    name, path, topic, create = exercise
    create(name, {"file": str(path), "topic": topic, **TAG})
    assert exercises.check_tagged_source(lab, name, path, topic) is True
    assert verdict(capsys).startswith("✔ correct")


def test_no_connector_yet(lab, exercise, capsys):
    name, path, topic, _ = exercise
    assert exercises.check_tagged_source(lab, name, path, topic) is False
    assert f"there is no connector named {name!r}" in verdict(capsys)


def test_connector_without_the_transforms(lab, exercise, capsys):
    name, path, topic, create = exercise
    create(name, {"file": str(path), "topic": topic})
    assert exercises.check_tagged_source(lab, name, path, topic) is False
    line = verdict(capsys)
    assert "carry no field 'origin'" in line and '"alpha"' in line


def test_connector_writing_elsewhere(lab, exercise, capsys):
    name, path, topic, create = exercise
    create(name, {"file": str(path), "topic": topic + "-typo", **TAG})
    assert exercises.check_tagged_source(lab, name, path, topic) is False
    assert "writes to topic" in verdict(capsys)


def test_connector_with_only_the_tag(lab, exercise, capsys):
    name, path, topic, create = exercise  # InsertField alone cannot add a field to a string
    only_tag = {k: v for k, v in TAG.items() if ".hoist." not in k} | {"transforms": "tag"}
    create(name, {"file": str(path), "topic": topic, **only_tag})
    assert exercises.check_tagged_source(lab, name, path, topic) is False
    line = verdict(capsys)
    assert "FAILED" in line and "Only Struct objects supported" in line
