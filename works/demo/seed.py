"""The seed researcher: Hattie Zhou's public author record and her three works.

Facts from the page BZPEER grew from (type, year, venue "arXiv", title and
abstract, word for word) and from the authors' own BibTeX (co-authors in
published order; `raw_name` is the name exactly as that BibTeX writes it). The
arXiv ids are the works' real ones and are the key `load_demo` upserts on.

Deliberately absent: an affiliation, an ORCID iD, an OpenAlex id, any
identifier for the co-authors, and publication dates (the page gives years only;
they are the page's years, 2020 for the two papers the BibTeX dates to NeurIPS
2019). The topics are editorial: four accurate labels, the "4 topics" the seed
page counts.

The works are listed, and so inserted, in this order: LCA, then Deconstructing
Lottery Tickets, then Fortuitous Forgetting, so that ids break the 2020 tie the
way the seed page orders them (newest year first, then newest id).
"""

from dataclasses import dataclass

SEED_RESEARCHER = "Hattie Zhou"


@dataclass(frozen=True)
class SeedAuthor:
    display_name: str
    raw_name: str


@dataclass(frozen=True)
class SeedTopic:
    display_name: str
    description: str
    subfield: str = "Artificial Intelligence"
    field: str = "Computer Science"
    domain: str = "Physical Sciences"


@dataclass(frozen=True)
class SeedSource:
    display_name: str
    type: str
    host_organization_name: str


@dataclass(frozen=True)
class SeedWork:
    arxiv_id: str
    title: str
    abstract: str
    type: str
    publication_year: int
    authors: tuple[SeedAuthor, ...]
    topics: tuple[str, ...]  # display names; the first is the primary topic
    language: str = "en"


ARXIV = SeedSource(
    display_name="arXiv", type="repository", host_organization_name="Cornell University"
)

PRUNING = SeedTopic(
    display_name="Neural network pruning",
    description="Removing weights, units or connections from neural networks, and what the "
    "sparse networks that remain can learn.",
)
TRAINING_DYNAMICS = SeedTopic(
    display_name="Training dynamics",
    description="How neural networks change during training: loss landscapes, learning "
    "trajectories and how parameters contribute to learning.",
)
INTERPRETABILITY = SeedTopic(
    display_name="Neural network interpretability",
    description="Methods that explain what a trained network, or its training, is doing.",
)
FORGETTING = SeedTopic(
    display_name="Catastrophic forgetting",
    description="How networks lose what they learned, and how forgetting can be controlled or "
    "put to use.",
)
TOPICS = (PRUNING, TRAINING_DYNAMICS, INTERPRETABILITY, FORGETTING)

_ZHOU = SeedAuthor("Hattie Zhou", "Hattie Zhou")
_LAN = SeedAuthor("Janice Lan", "Janice Lan")
_LIU = SeedAuthor("Rosanne Liu", "Rosanne Liu")
_YOSINSKI = SeedAuthor("Jason Yosinski", "Jason Yosinski")

WORKS = (
    SeedWork(
        arxiv_id="1909.01440",
        title="LCA: Loss Change Allocation for Neural Network Training",
        abstract=(
            "Neural networks enjoy widespread use, but many aspects of their training, "
            "representation, and operation are poorly understood. In particular, our view into "
            "the training process is limited, with a single scalar loss being the most common "
            "viewport into this high-dimensional, dynamic process. We propose a new window into "
            "training called Loss Change Allocation (LCA), in which credit for changes to the "
            "network loss is conservatively partitioned to the parameters. This measurement is "
            "accomplished by decomposing the components of an approximate path integral along "
            "the training trajectory using a Runge-Kutta integrator. This rich view shows which "
            "parameters are responsible for decreasing or increasing the loss during training, "
            'or which parameters "help" or "hurt" the network\'s learning, respectively. LCA '
            "may be summed over training iterations and/or over neurons, channels, or layers "
            "for increasingly coarse views. This new measurement device produces several "
            "insights into training. (1) We find that barely over 50% of parameters help during "
            "any given iteration. (2) Some entire layers hurt overall, moving on average "
            "against the training gradient, a phenomenon we hypothesize may be due to phase lag "
            "in an oscillatory training process. (3) Finally, increments in learning proceed in "
            "a synchronized manner across layers, often peaking on identical iterations."
        ),
        type="preprint",
        publication_year=2020,
        authors=(_LAN, _LIU, _ZHOU, _YOSINSKI),
        topics=(TRAINING_DYNAMICS.display_name, INTERPRETABILITY.display_name),
    ),
    SeedWork(
        arxiv_id="1905.01067",
        title="Deconstructing Lottery Tickets: Zeros, Signs, and the Supermask",
        abstract=(
            'The recent "Lottery Ticket Hypothesis" paper by Frankle & Carbin showed that a '
            "simple approach to creating sparse networks (keeping the large weights) results in "
            "models that are trainable from scratch, but only when starting from the same "
            "initial weights. The performance of these networks often exceeds the performance "
            "of the non-sparse base model, but for reasons that were not well understood. In "
            "this paper we study the three critical components of the Lottery Ticket (LT) "
            "algorithm, showing that each may be varied significantly without impacting the "
            "overall results. Ablating these factors leads to new insights for why LT networks "
            "perform as well as they do. We show why setting weights to zero is important, how "
            "signs are all you need to make the reinitialized network train, and why masking "
            "behaves like training. Finally, we discover the existence of Supermasks, masks "
            "that can be applied to an untrained, randomly initialized network to produce a "
            "model with performance far better than chance (86% on MNIST, 41% on CIFAR-10)."
        ),
        type="preprint",
        publication_year=2020,
        authors=(
            SeedAuthor("Hattie Zhou", "Zhou, Hattie"),
            SeedAuthor("Janice Lan", "Lan, Janice"),
            SeedAuthor("Rosanne Liu", "Liu, Rosanne"),
            SeedAuthor("Jason Yosinski", "Yosinski, Jason"),
        ),
        topics=(PRUNING.display_name, TRAINING_DYNAMICS.display_name),
    ),
    SeedWork(
        arxiv_id="2202.00155",
        title="Fortuitous Forgetting in Connectionist Networks",
        abstract=(
            "Forgetting is often seen as an unwanted characteristic in both human and machine "
            "learning. However, we propose that forgetting can in fact be favorable to "
            'learning. We introduce "forget-and-relearn" as a powerful paradigm for shaping the '
            "learning trajectories of artificial neural networks. In this process, the "
            "forgetting step selectively removes undesirable information from the model, and "
            "the relearning step reinforces features that are consistently useful under "
            "different conditions. The forget-and-relearn framework unifies many existing "
            "iterative training algorithms in the image classification and language emergence "
            "literature, and allows us to understand the success of these algorithms in terms "
            "of the disproportionate forgetting of undesirable information. We leverage this "
            "understanding to improve upon existing algorithms by designing more targeted "
            "forgetting operations. Insights from our analysis provide a coherent view on the "
            "dynamics of iterative training in neural networks and offer a clear path towards "
            "performance improvements."
        ),
        type="preprint",
        publication_year=2022,
        authors=(
            _ZHOU,
            SeedAuthor("Ankit Vani", "Ankit Vani"),
            SeedAuthor("Hugo Larochelle", "Hugo Larochelle"),
            SeedAuthor("Aaron Courville", "Aaron Courville"),
        ),
        topics=(FORGETTING.display_name, TRAINING_DYNAMICS.display_name),
    ),
)
