"""What is particular to this backend: how liapstore finds it."""
import pytest

import liapstore
from liapstore_thirdmem import ThirdMemStore


def test_the_entry_point_registers_the_scheme():
    assert "thirdmem" in liapstore.supported_schemes()
    with liapstore.connect("thirdmem://") as store:
        assert type(store) is ThirdMemStore
        assert store.status()["backend"] == "thirdmem"


def test_a_thirdmem_url_takes_no_path():
    with pytest.raises(liapstore.InvalidInput):
        liapstore.connect("thirdmem://somewhere")
