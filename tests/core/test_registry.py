"""Domain discovery: every sciformers.* portion except the shared ones is a domain."""

from pathlib import Path

from sciformers.core import SHARED_PORTIONS, domain_names

ROOT = Path(__file__).resolve().parents[2]


def test_domain_names_are_the_package_folders():
    on_disk = sorted(p.name for p in (ROOT / "packages").iterdir() if (p / "sciformers" / p.name / "__init__.py").is_file())
    assert domain_names() == on_disk
    assert not set(domain_names()) & set(SHARED_PORTIONS)
