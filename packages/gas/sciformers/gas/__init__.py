"""sciformers.gas: Gasformer for methane plumes in optical gas imaging, a synthetic OGI generator,
image-folder loaders for real footage, and peers (SegFormer-B0, UNet, a threshold baseline).

>>> from sciformers.core import create_model
>>> model = create_model("gas.gasformer", in_channels=1, num_classes=2)
"""

from sciformers.gas.folder import load_image_folder, write_image_folder
from sciformers.gas.gasformer import Gasformer
from sciformers.gas.hamburger import NMF2D, Hamburger, LightHamHead, nmf
from sciformers.gas.mit import MIT_CONFIGS, MiTConfig, MixVisionTransformer
from sciformers.gas.peers import SegFormerB0, ThresholdBaseline, UNet
from sciformers.gas.synthetic import GeneratorConfig, generate_sequence, generate_split

#: The harness side (the task, its metrics and dataset, ``sciformers predict gas``), imported on
#: demand by ``sciformers.evaluation``: importing this package loads no harness and no matplotlib.
TASK_MODULES = ("sciformers.gas.task", "sciformers.gas.predict")
