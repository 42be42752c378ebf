import pytest

from ringebu_journal.judge import Judge, load_policy


@pytest.fixture(scope="session")
def judge() -> Judge:
    return Judge(load_policy())
