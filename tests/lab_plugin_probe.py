"""A pytest plugin that reads items the way labgrid's and pytest-embedded's hooks do (used by test_lab_plugins)."""


def pytest_collection_modifyitems(items):
    for item in items:
        print(f"probe: {item.name} fixturenames={list(item.fixturenames)} funcargs={dict(item.funcargs)}")
