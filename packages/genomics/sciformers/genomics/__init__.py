"""sciformers.genomics: METAGENE-style DNA language model on sequencing reads.

Streaming FASTA/FASTQ I/O, DNA tokenizers (BPE, k-mer, single nucleotides), the METAGENE-1 causal
LM with packed reads and block-diagonal attention, genomes read from installed packages, an
Illumina-like read simulator with coordinate splits and peers (k-mer LR, GC content, Markov
chains, bidirectional masked LM). The ``genomics.pathogen_reads`` task, its data set
(:mod:`.data`) and the predictor are the harness side, in :data:`TASK_MODULES`.

>>> from sciformers.genomics import read_fastq, DNATokenizer, MetageneLM
"""

from sciformers.genomics.seqio import (
    FastaRecord,
    FastqRecord,
    clean_sequence,
    gc_content,
    read_fasta,
    read_fastq,
    reverse_complement,
    write_fasta,
    write_fastq,
)
from sciformers.genomics.tokenizer import SPECIAL_TOKENS, DNATokenizer, bits_per_base
from sciformers.genomics.genomes import GENOMES, genome_path, list_genomes, load_genome
from sciformers.genomics.simulate import ErrorProfile, Interval, ReadSimulator, SimulatedRead, split_genome
from sciformers.genomics.packing import PackedReads, SingleReads, segment_mask
from sciformers.genomics.model import (
    SIZES,
    BidirMLM,
    DNALMConfig,
    DNATransformer,
    FinetuneSpec,
    MetageneLM,
    lm_config,
    mean_pool,
)
from sciformers.genomics.classifier import (
    ClassConditionalLM,
    LoRALinear,
    ReadClassifier,
    ReadClassifierBase,
    apply_lora,
    finetune_classifier,
)
from sciformers.genomics.baselines import GCContent, KmerLogisticRegression
from sciformers.genomics.markov import MarkovChain, MarkovReads

#: The harness side (the data set, metrics, task and predictor), imported on demand by
#: ``sciformers.evaluation``: importing this package loads no harness and no matplotlib.
TASK_MODULES = ("sciformers.genomics.data", "sciformers.genomics.metrics", "sciformers.genomics.task",
                "sciformers.genomics.predict")
