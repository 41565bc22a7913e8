"""A seeded generator of a synthetic research population, with no database access.

`generate_population(n_authors=..., seed=...)` returns plain records (dataclasses):
institutions, topics, sources, authors and works with their authorships. The same
arguments give the same population, value for value, so `load_demo` can recognise
a population that is already loaded, and a benchmark can render the same works as
OpenAlex JSON with `to_openalex_work`.

Shape: each work starts from a lead author; co-authors are picked by preferential
attachment (an author is picked in proportion to the works they already have,
mostly among authors of the work's topic, often among the lead's past co-authors),
and new authors enter at the rate that introduces every one of the `n_authors` by
the last work. That gives ~3 works per author with a heavy tail (a few hubs with
100+ works at the default 3000 authors). Team sizes are mostly 2-6, up to 30.

Reserved identifiers, chosen so that no generated record can collide with, or be
mistaken for, a real one:
- OpenAlex ids: the entity letter, "990", then 7 digits (W9900000000-W9909999999,
  A990..., I990..., S990..., T990...). OpenAlex's real ids are far below this
  range (W4..., A5..., I4..., S4... and five-digit T ids); the range stops short of
  A9999999999, OpenAlex's own placeholder for an unidentified author ("NULL
  AUTHOR_ID"). `is_synthetic_openalex_id` recognises generated ids.
- ROR ids: "0zz" + 4 base32 characters + the ROR checksum. The format and checksum
  are valid, but ROR mints ids from the integers 0..200,000,000, whose base32 form
  starts with 0-5: no real ROR id starts with "0z".
- ORCID iDs: 0009-0099-xxxx-xxxx with a valid check digit; ORCID issues from
  0000-0001-5000-0007..0000-0003-5000-0001 and 0009-0000-0000-0000..0009-0010-0000-0000.
- DOIs: 10.5555/bzpeer-demo.<work id>; 10.5555 is Crossref's test prefix.
- Email domains: <name>.example (RFC 2606 reserves .example), so a verified email
  address can never match a generated institution.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from itertools import accumulate
from typing import Any, Generic, TypeVar

from works.identifiers import orcid_checksum, ror_checksum

T = TypeVar("T")

SYNTHETIC_ID_PREFIX = "990"
_ID_DIGITS = 7
DEMO_DOI_PREFIX = "10.5555/bzpeer-demo."
DEMO_ORCID_BLOCK = "0009-0099-"
# Open-access copies of generated works live on reserved .example hosts (RFC 2606).
DEMO_REPOSITORY_URL = "https://preprints.example/"
DEMO_JOURNAL_URL = "https://journals.example/"
FIRST_YEAR = 2000
LAST_YEAR = 2025
# Citations are spread over the years from publication to this one (the demo's "now").
CITATIONS_LAST_YEAR = 2026
MIN_REFERENCES = 3
MAX_REFERENCES = 30
RETRACTED_SHARE = 0.004
MAX_TEAM_SIZE = 30
WORKS_PER_AUTHOR = 3  # authorships per author, on average, unless a number of works is asked
_OPENALEX = "https://openalex.org/"
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_ROR_FLOOR = 31 * 32**5 + 31 * 32**4  # "zz0000" in base32: above anything ROR mints


# ---------------------------------------------------------------- identifiers


def synthetic_openalex_id(letter: str, index: int) -> str:
    """The short OpenAlex id of the index-th generated entity of a kind ("W", "A", ...)."""
    return f"{letter}{SYNTHETIC_ID_PREFIX}{index:0{_ID_DIGITS}d}"


def is_synthetic_openalex_id(openalex_id: str) -> bool:
    """Whether an OpenAlex id (short or URL) is in the range reserved for generated records."""
    short = openalex_id.rsplit("/", 1)[-1]
    return (
        len(short) == 1 + len(SYNTHETIC_ID_PREFIX) + _ID_DIGITS
        and short[0].isalpha()
        and short[0].isupper()
        and short[1:].startswith(SYNTHETIC_ID_PREFIX)
        and short[1:].isdigit()
    )


def _base32(value: int, width: int) -> str:
    chars = []
    while value:
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "".join(reversed(chars)).rjust(width, "0")


def synthetic_ror(index: int) -> str:
    value = _ROR_FLOOR + index
    return "0" + _base32(value, 6) + ror_checksum(value)


def synthetic_orcid(index: int) -> str:
    digits = DEMO_ORCID_BLOCK.replace("-", "") + f"{index:07d}"
    digits += orcid_checksum(digits)
    return "-".join(digits[i : i + 4] for i in range(0, 16, 4))


# ---------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class InstitutionRecord:
    openalex_id: str
    ror: str
    display_name: str
    country_code: str
    type: str
    email_domains: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TopicRecord:
    openalex_id: str
    display_name: str
    description: str
    keywords: tuple[str, ...]
    subfield: str
    subfield_id: int
    field: str
    field_id: int
    domain: str
    domain_id: int


@dataclass(frozen=True, slots=True)
class SourceRecord:
    openalex_id: str
    display_name: str
    type: str
    host_organization_name: str


@dataclass(slots=True)
class AuthorRecord:
    openalex_id: str
    display_name: str
    name_variants: tuple[str, ...]
    orcid: str
    institution: InstitutionRecord
    topics: tuple[TopicRecord, ...]
    # Filled in once every work is generated.
    works_count: int = 0
    cited_by_count: int = 0
    topic_counts: tuple[tuple[TopicRecord, int], ...] = ()


@dataclass(frozen=True, slots=True)
class AuthorshipRecord:
    author: AuthorRecord
    position: int
    raw_author_name: str
    institutions: tuple[InstitutionRecord, ...]
    is_corresponding: bool


@dataclass(frozen=True, slots=True)
class WorkTopicRecord:
    topic: TopicRecord
    score: float
    is_primary: bool


@dataclass(frozen=True, slots=True)
class WorkRecord:
    openalex_id: str
    doi: str
    title: str
    abstract: str
    type: str
    publication_year: int
    publication_date: date
    source: SourceRecord
    language: str
    cited_by_count: int
    topics: tuple[WorkTopicRecord, ...]
    authorships: tuple[AuthorshipRecord, ...]
    # The research record: how fast citations fade (an index into _DECAYS, see
    # counts_by_year); OpenAlex ids of earlier generated works this one cites.
    citation_decay: int = 0
    referenced_works: tuple[str, ...] = ()
    is_retracted: bool = False
    is_oa: bool = False
    oa_status: str = ""
    oa_url: str = ""
    pdf_url: str = ""
    biblio: tuple[tuple[str, str], ...] = ()

    @property
    def counts_by_year(self) -> tuple[tuple[int, int], ...]:
        """Citations per year, (year, count) ascending, from publication to
        CITATIONS_LAST_YEAR and summing to cited_by_count: worked out when asked,
        as only the writers of the population read it."""
        cited, year = self.cited_by_count, self.publication_year
        if not cited or year > CITATIONS_LAST_YEAR:
            return ()
        shares = _running_shares(self.citation_decay, CITATIONS_LAST_YEAR + 1 - year)
        # Rounding the running sum keeps the years' counts summing to `cited`.
        counts = []
        given = 0
        for offset, share in enumerate(shares):
            upto = round(cited * share)
            if upto > given:
                counts.append((year + offset, upto - given))
                given = upto
        return tuple(counts)


@dataclass(frozen=True, slots=True)
class Population:
    n_authors: int
    seed: int
    institutions: tuple[InstitutionRecord, ...]
    topics: tuple[TopicRecord, ...]
    sources: tuple[SourceRecord, ...]
    authors: tuple[AuthorRecord, ...]
    works: tuple[WorkRecord, ...]


# ---------------------------------------------------------------- built-in lists

_DOMAINS = {1: "Life Sciences", 2: "Social Sciences", 3: "Physical Sciences", 4: "Health Sciences"}
_FIELDS = {  # id: (name, domain id)
    13: ("Biochemistry, Genetics and Molecular Biology", 1),
    17: ("Computer Science", 3),
    20: ("Economics, Econometrics and Finance", 2),
    23: ("Environmental Science", 3),
    26: ("Mathematics", 3),
    27: ("Medicine", 4),
    31: ("Physics and Astronomy", 3),
    33: ("Social Sciences", 2),
}
_SUBFIELDS = {  # id: name; the field is id // 100
    1307: "Cell Biology",
    1311: "Genetics",
    1312: "Molecular Biology",
    1702: "Artificial Intelligence",
    1703: "Computational Theory and Mathematics",
    1705: "Computer Networks and Communications",
    1707: "Computer Vision and Pattern Recognition",
    1709: "Human-Computer Interaction",
    1712: "Software",
    2002: "Economics and Econometrics",
    2303: "Ecology",
    2306: "Global and Planetary Change",
    2312: "Water Science and Technology",
    2604: "Applied Mathematics",
    2605: "Computational Mathematics",
    2613: "Statistics and Probability",
    2713: "Epidemiology",
    2718: "Health Informatics",
    2730: "Oncology",
    2739: "Public Health, Environmental and Occupational Health",
    3103: "Astronomy and Astrophysics",
    3104: "Condensed Matter Physics",
    3106: "Nuclear and High Energy Physics",
    3107: "Atomic and Molecular Physics, and Optics",
    3304: "Education",
    3312: "Sociology and Political Science",
}
# (display name, subfield id, keywords). None of these is an editorial seed topic.
# fmt: off
_TOPICS: tuple[tuple[str, int, str], ...] = (
    ("Graph neural networks", 1702,
     "message passing; node embeddings; graph structure; relational reasoning"),
    ("Reinforcement learning for control", 1702,
     "policy optimisation; reward shaping; exploration; sample efficiency"),
    ("Natural language understanding", 1702,
     "language models; semantic parsing; text classification; reading comprehension"),
    ("Probabilistic machine learning", 1702,
     "variational inference; uncertainty estimates; Gaussian processes; posterior sampling"),
    ("Federated learning", 1702,
     "client heterogeneity; differential privacy; communication cost; model aggregation"),
    ("Image segmentation", 1707,
     "pixel labelling; segmentation masks; scene parsing; boundary refinement"),
    ("Object detection", 1707,
     "bounding boxes; region proposals; small objects; detector calibration"),
    ("3D scene reconstruction", 1707,
     "point clouds; depth estimation; multi-view geometry; surface meshes"),
    ("Wireless sensor networks", 1705,
     "energy budgets; routing protocols; sensor coverage; duty cycling"),
    ("Network congestion control", 1705,
     "congestion signals; throughput; queueing delay; rate control"),
    ("Software testing and verification", 1712,
     "test generation; fault localisation; model checking; program invariants"),
    ("Program synthesis", 1712,
     "code generation; formal specifications; search strategies; program repair"),
    ("Accessible interface design", 1709,
     "screen readers; usability studies; assistive input; inclusive design"),
    ("Approximation algorithms", 1703,
     "approximation ratios; combinatorial optimisation; hardness results; linear relaxations"),
    ("Topological insulators", 3104,
     "surface states; band topology; spin-orbit coupling; edge transport"),
    ("High-temperature superconductivity", 3104,
     "cuprates; pairing symmetry; pseudogap; critical temperature"),
    ("Two-dimensional materials", 3104,
     "monolayers; van der Waals heterostructures; strain engineering; exfoliation"),
    ("Exoplanet detection", 3103,
     "transit photometry; radial velocities; planetary atmospheres; host stars"),
    ("Galaxy formation and evolution", 3103,
     "star formation rates; dark matter haloes; galaxy mergers; stellar populations"),
    ("Gravitational wave astronomy", 3103,
     "compact binaries; waveform models; detector noise; merger rates"),
    ("Cosmic microwave background", 3103,
     "polarisation maps; foreground removal; anisotropies; cosmological parameters"),
    ("Ultracold atomic gases", 3107,
     "optical lattices; Bose-Einstein condensates; Feshbach resonances; quantum simulation"),
    ("Quantum optics and photonics", 3107,
     "single photons; entangled states; integrated photonics; squeezed light"),
    ("Attosecond spectroscopy", 3107,
     "high harmonic generation; electron dynamics; pump-probe measurements; ionisation delays"),
    ("Quantum error correction", 3107,
     "surface codes; logical qubits; decoding algorithms; fault tolerance"),
    ("Neutrino oscillations", 3106,
     "mixing angles; mass ordering; reactor neutrinos; long-baseline experiments"),
    ("Collider phenomenology", 3106,
     "parton distributions; jet substructure; effective field theory; event generators"),
    ("CRISPR genome editing", 1311,
     "guide RNA design; off-target effects; base editing; delivery vectors"),
    ("Population genomics", 1311,
     "genetic diversity; selection scans; demographic history; allele frequencies"),
    ("Epigenetic regulation", 1311,
     "DNA methylation; histone marks; chromatin accessibility; imprinting"),
    ("Single-cell transcriptomics", 1312,
     "cell atlases; clustering; trajectory inference; batch correction"),
    ("Protein structure prediction", 1312,
     "folding; contact maps; structure models; conformational ensembles"),
    ("RNA splicing mechanisms", 1312,
     "alternative splicing; spliceosome assembly; splice-site variants; isoforms"),
    ("Gene regulatory networks", 1312,
     "transcription factors; enhancers; network inference; expression noise"),
    ("Cell migration", 1307,
     "cytoskeleton; focal adhesions; chemotaxis; collective migration"),
    ("Autophagy", 1307,
     "autophagosomes; lysosomal degradation; nutrient sensing; selective autophagy"),
    ("Stem cell differentiation", 1307,
     "lineage commitment; organoids; pluripotency; niche signals"),
    ("Mitochondrial dynamics", 1307,
     "fission and fusion; mitophagy; respiratory chain; membrane potential"),
    ("Infectious disease surveillance", 2713,
     "outbreak detection; case reporting; transmission models; sentinel sites"),
    ("Cardiovascular risk factors", 2713,
     "blood pressure; lipid profiles; risk scores; cohort follow-up"),
    ("Vaccine effectiveness", 2713,
     "test-negative designs; waning immunity; booster doses; coverage"),
    ("Cancer immunotherapy", 2730,
     "checkpoint inhibitors; T-cell responses; biomarkers of response; resistance mechanisms"),
    ("Tumour microenvironment", 2730,
     "stromal cells; hypoxia; immune infiltration; angiogenesis"),
    ("Breast cancer screening", 2730,
     "mammography; risk stratification; overdiagnosis; screening intervals"),
    ("Air pollution and health", 2739,
     "fine particulate matter; exposure assessment; respiratory outcomes; urban air quality"),
    ("Maternal and child health", 2739,
     "antenatal care; birth outcomes; child growth; community health workers"),
    ("Health behaviour interventions", 2739,
     "physical activity; behaviour change; text-message reminders; adherence"),
    ("Electronic health records", 2718,
     "clinical notes; record linkage; phenotyping; data quality"),
    ("Clinical decision support", 2718,
     "alert fatigue; risk prediction; guideline adherence; workflow integration"),
    ("Medical image analysis", 2718,
     "radiology images; lesion detection; image registration; annotation cost"),
    ("Climate change and biodiversity", 2306,
     "range shifts; species richness; climate velocity; extinction risk"),
    ("Carbon cycle modelling", 2306,
     "carbon fluxes; land sinks; soil carbon; Earth system models"),
    ("Sea level rise", 2306,
     "ice sheet melt; coastal flooding; tide gauges; projections"),
    ("Extreme weather attribution", 2306,
     "heatwaves; extreme rainfall; attribution methods; return periods"),
    ("Pollinator ecology", 2303,
     "wild bees; floral resources; pollination networks; pesticide exposure"),
    ("Forest ecosystem dynamics", 2303,
     "tree mortality; canopy gaps; forest succession; biomass"),
    ("Invasive species", 2303,
     "establishment success; spread rates; native communities; management"),
    ("Freshwater ecosystems", 2303,
     "river networks; nutrient loading; macroinvertebrates; flow regimes"),
    ("Groundwater hydrology", 2312,
     "aquifer recharge; groundwater depletion; well data; flow models"),
    ("Wastewater treatment", 2312,
     "activated sludge; nutrient removal; micropollutants; membrane filtration"),
    ("Political polarization", 3312,
     "partisan identity; media diets; affective polarization; survey experiments"),
    ("Social network analysis", 3312,
     "tie formation; network centrality; homophily; diffusion"),
    ("Migration and integration", 3312,
     "labour migration; integration policy; diaspora networks; second generation"),
    ("Urban inequality", 3312,
     "residential segregation; housing costs; neighbourhood effects; gentrification"),
    ("Online learning environments", 3304,
     "learning analytics; course completion; peer feedback; engagement"),
    ("Science education", 3304,
     "inquiry-based learning; misconceptions; laboratory work; assessment"),
    ("Early childhood education", 3304,
     "preschool programmes; language development; home learning; teacher quality"),
    ("Teacher professional development", 3304,
     "coaching; communities of practice; classroom observation; teacher retention"),
    ("Labour market dynamics", 2002,
     "job mobility; wage growth; unemployment spells; automation"),
    ("Monetary policy", 2002,
     "interest rates; inflation expectations; central bank communication; transmission"),
    ("Behavioural economics", 2002,
     "present bias; default effects; loss aversion; field experiments"),
    ("Development economics", 2002,
     "microfinance; cash transfers; agricultural productivity; household surveys"),
    ("Causal inference", 2613,
     "instrumental variables; matching estimators; treatment effects; sensitivity analysis"),
    ("High-dimensional statistics", 2613,
     "sparse regression; covariance estimation; multiple testing; random matrices"),
    ("Bayesian hierarchical models", 2613,
     "partial pooling; prior choice; Markov chain Monte Carlo; model checking"),
    ("Time series forecasting", 2613,
     "seasonality; state-space models; forecast combination; probabilistic forecasts"),
    ("Stochastic processes", 2613,
     "random walks; diffusion processes; hitting times; martingales"),
    ("Numerical methods for PDEs", 2605,
     "finite elements; adaptive meshes; stability analysis; multigrid solvers"),
    ("Optimization algorithms", 2604,
     "convex optimisation; gradient methods; convergence rates; constraint handling"),
    ("Uncertainty quantification", 2604,
     "surrogate models; sensitivity indices; inverse problems; polynomial chaos"),
)
# fmt: on
# (display name, country, OpenAlex type, email domain). Fictional places and names.
_INSTITUTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("University of Ashbury", "US", "education", "ashbury.example"),
    ("Caldwell Institute of Technology", "US", "education", "caldwell-tech.example"),
    ("Marrow Creek State University", "US", "education", "marrowcreek.example"),
    ("Pinecrest College of Sciences", "US", "education", "pinecrest.example"),
    ("Halvard Research Laboratory", "US", "facility", "halvard-lab.example"),
    ("Elmbrook Children's Hospital", "US", "healthcare", "elmbrook-health.example"),
    ("Quillon Labs", "US", "company", "quillonlabs.example"),
    ("University of Aldermoor", "GB", "education", "aldermoor.example"),
    ("Whitcombe University", "GB", "education", "whitcombe.example"),
    ("Brackenfield Institute", "GB", "facility", "brackenfield.example"),
    ("Northgate Medical Centre", "GB", "healthcare", "northgate-medical.example"),
    ("University of Lac-Sauvier", "CA", "education", "lacsauvier.example"),
    ("Northmere University", "CA", "education", "northmere.example"),
    ("Universität Falkenried", "DE", "education", "uni-falkenried.example"),
    ("Technische Hochschule Lindenau", "DE", "education", "th-lindenau.example"),
    ("Brenner-Institut für Physik", "DE", "facility", "brenner-institut.example"),
    ("Université de Valmonde", "FR", "education", "univ-valmonde.example"),
    ("Institut Corvanne", "FR", "facility", "corvanne.example"),
    ("Oosterdam University", "NL", "education", "oosterdam.example"),
    ("Institut Montrival", "CH", "education", "montrival.example"),
    ("Helix Forge Biotech", "CH", "company", "helixforge.example"),
    ("Norrvik University", "SE", "education", "norrvik.example"),
    ("Fjellstad University", "NO", "education", "fjellstad.example"),
    ("Hellvik Institute for Coastal Research", "NO", "facility", "hellvik.example"),
    ("Vaaralinna University", "FI", "education", "vaaralinna.example"),
    ("Skovlund University", "DK", "education", "skovlund.example"),
    ("Universität Bergtal", "AT", "education", "uni-bergtal.example"),
    ("Université de Sorvigny", "BE", "education", "sorvigny.example"),
    ("Glenmore University", "IE", "education", "glenmore.example"),
    ("Saint Ardan Hospital", "IE", "healthcare", "stardan.example"),
    ("Universidad de Sierra Almenar", "ES", "education", "almenar.example"),
    ("Centro Médico Valmira", "ES", "healthcare", "valmira.example"),
    ("Università di Valcorsa", "IT", "education", "valcorsa.example"),
    ("Uniwersytet Borowiecki", "PL", "education", "borowiecki.example"),
    ("Universidade de Ribacova", "PT", "education", "ribacova.example"),
    ("Universidade Federal do Vale Dourado", "BR", "education", "valedourado.example"),
    ("Instituto Serra Clara", "BR", "facility", "serraclara.example"),
    ("Universidad de Tlacomulco", "MX", "education", "tlacomulco.example"),
    ("Universidad Nacional de Río Celeste", "AR", "education", "riceleste.example"),
    ("Observatorio Caldera Sur", "CL", "facility", "calderasur.example"),
    ("Kitahara University", "JP", "education", "kitahara-u.example"),
    ("Sakuragawa Institute of Science", "JP", "facility", "sakuragawa.example"),
    ("Jinhai University", "CN", "education", "jinhai.example"),
    ("Yunshan Institute of Technology", "CN", "education", "yunshan-tech.example"),
    ("Seorin University", "KR", "education", "seorin.example"),
    ("Indravati Institute of Science", "IN", "education", "indravati.example"),
    ("University of Kaveripuram", "IN", "education", "kaveripuram.example"),
    ("Marina Crest University", "SG", "education", "marinacrest.example"),
    ("University of Wattle Bay", "AU", "education", "wattlebay.example"),
    ("Coolabah University", "AU", "education", "coolabah.example"),
    ("Kahurangi University", "NZ", "education", "kahurangi.example"),
    ("University of the Karoo Ridge", "ZA", "education", "karooridge.example"),
    ("Ayoola Heights University", "NG", "education", "ayoolaheights.example"),
    ("Kilima University", "KE", "education", "kilima.example"),
    ("Wadi Sareen University", "EG", "education", "wadisareen.example"),
    ("Givat Oren Institute of Science", "IL", "education", "givatoren.example"),
    ("Yeşiltepe University", "TR", "education", "yesiltepe.example"),
    ("Meridian Analytics Research", "GB", "company", "meridian-analytics.example"),
    ("Tamsin Institute for Public Health", "ZA", "facility", "tamsin-health.example"),
    ("Hoang Son University", "VN", "education", "hoangson.example"),
)
# (display name, type, host organisation, field ids; empty = any field). Fictional venues.
# fmt: off
_SOURCES: tuple[tuple[str, str, str, tuple[int, ...]], ...] = (
    ("Transactions on Adaptive Computation", "journal", "Meridian Academic Press", (17,)),
    ("Proceedings of the Lakeshore Conference on Machine Intelligence", "conference",
     "Lakeshore Computing Society", (17,)),
    ("Journal of Networked and Distributed Systems", "journal", "Harbourlight Publishing", (17,)),
    ("Symposium on Software Craft and Verification", "conference",
     "Lakeshore Computing Society", (17,)),
    ("Journal of Condensed and Quantum Matter", "journal", "Aldine Physical Society", (31,)),
    ("Letters in Astrophysical Observation", "journal", "Aldine Physical Society", (31,)),
    ("Review of Optical and Atomic Physics", "journal", "Meridian Academic Press", (31,)),
    ("Journal of Genome Dynamics", "journal", "Harbourlight Publishing", (13,)),
    ("Molecular Pathways Letters", "journal", "Meridian Academic Press", (13,)),
    ("Cellular Mechanisms Review", "journal", "Aldine Life Science Trust", (13,)),
    ("Journal of Population Health Studies", "journal", "Harbourlight Publishing", (27,)),
    ("Clinical Oncology Perspectives", "journal", "Meridian Academic Press", (27,)),
    ("Digital Health Records Journal", "journal", "Harbourlight Publishing", (27,)),
    ("Journal of Ecosystem Change", "journal", "Aldine Life Science Trust", (23,)),
    ("Hydrology and Water Systems Letters", "journal", "Harbourlight Publishing", (23,)),
    ("Earth Futures Review", "journal", "Meridian Academic Press", (23,)),
    ("Journal of Comparative Society", "journal", "Harbourlight Publishing", (33,)),
    ("Education Research Horizons", "journal", "Meridian Academic Press", (33,)),
    ("Review of Applied Economic Analysis", "journal", "Harbourlight Publishing", (20,)),
    ("Quarterly Notes in Labour Economics", "journal", "Meridian Academic Press", (20,)),
    ("Journal of Statistical Methodology and Inference", "journal",
     "Aldine Mathematical Union", (26,)),
    ("Annals of Computational Analysis", "journal", "Aldine Mathematical Union", (26,)),
    ("Proceedings of the Northbridge Workshop on Learning Theory", "conference",
     "Lakeshore Computing Society", (17, 26)),
    ("Lakeshore Preprint Archive", "repository", "Lakeshore Computing Society", (17, 26, 31)),
    ("Meridian Life Sciences Preprints", "repository",
     "Meridian Open Science Foundation", (13, 27)),
    ("Commons Social Science Papers", "repository", "Meridian Open Science Foundation", (20, 33)),
    ("Open Science Letters", "journal", "Meridian Open Science Foundation", ()),
    ("Frontier Research Communications", "journal", "Harbourlight Publishing", ()),
    ("Meridian Preprint Server", "repository", "Meridian Open Science Foundation", ()),
    ("Interdisciplinary Methods Review", "journal", "Aldine Mathematical Union", ()),
)
# fmt: on
# Diverse, common given and family names. None is a seed researcher's or co-author's.
# fmt: off
_FIRST_NAMES = (
    "Amara", "Tomás", "Aiko", "Wei", "Priya", "Oluwaseun", "Sofia", "Mateo", "Ingrid", "Kwame",
    "Leila", "Dmitri", "Mei", "Rahul", "Fatima", "Lucas", "Yuki", "Chidi", "Elena", "Arjun",
    "Nadia", "Jonas", "Hana", "Omar", "Camila", "Tariq", "Sven", "Zainab", "Kenji", "Lucía",
    "Emeka", "Anya", "Minh", "Farah", "Pedro", "Astrid", "Jin", "Inès", "Kofi", "Maya", "Ravi",
    "Sara", "Nikolai", "Ayesha", "Diego", "Freya", "Hiroshi", "Adaeze", "Marco", "Leah", "Samir",
    "Chen", "Noor", "Felipe", "Greta", "Tendai", "Yara", "Luca", "Keiko", "Thabo", "Olga",
    "Vikram", "Amelia", "Jae-won", "Rosa", "Ibrahim", "Mira", "Tobias", "Soo-ah", "Nia", "Andrés",
    "Linnea", "Darius", "Ananya", "Joon", "Esther", "Malik", "Clara", "Rui", "Zofia",
)
_LAST_NAMES = (
    "Okafor", "Nakamura", "Silva", "Kowalski", "Haddad", "Andersson", "Mensah", "Petrov", "Chen",
    "Gupta", "Fernández", "Müller", "Tanaka", "Nguyen", "Osei", "Rossi", "Kim", "Park", "Adeyemi",
    "Novak", "Rahman", "Costa", "Jensen", "Moreau", "Wang", "Sato", "Banerjee", "Ortiz",
    "Eriksson", "Mwangi", "Kaya", "Schmidt", "Dubois", "Hosseini", "Yamamoto", "Santos",
    "Lindqvist", "Abubakar", "Horvat", "Zhang", "Kapoor", "Herrera", "Nieminen", "Ochieng",
    "Demir", "Weber", "Laurent", "Karimi", "Ito", "Pereira", "Bergström", "Eze", "Kovačević",
    "Huang", "Iyer", "Castillo", "Virtanen", "Njoroge", "Yilmaz", "Fischer", "Lefebvre", "Farouk",
    "Suzuki", "Almeida", "Holm", "Nwosu", "Popescu", "Zhao", "Reddy", "Morales", "Korhonen",
    "Kamau", "Arslan", "Becker", "Girard", "Nasser", "Watanabe", "Ribeiro", "Dahl", "Ivanova",
)
# fmt: on
_INITIALS = "ABCDEFGHJKLMNPRSTVW"

# Words for clearly generic titles and abstracts.
_ADJECTIVES = (
    "scalable", "robust", "efficient", "interpretable", "data-driven", "unified", "adaptive",
    "comparative", "multi-scale", "hierarchical", "lightweight", "principled", "modular",
)  # fmt: skip
_METHODS = ("framework", "approach", "model", "benchmark", "method", "pipeline", "estimator")
_PROPERTIES = ("role", "limits", "structure", "dynamics", "stability", "measurement", "variability")
_STUDIES = (
    "a case study", "an empirical study", "a systematic review", "a theoretical analysis",
    "a comparative study", "a longitudinal study", "a large-scale evaluation",
)  # fmt: skip
_CONTEXTS = (
    "heterogeneous settings", "low-resource settings", "multi-site data", "controlled experiments",
    "simulated and observed data", "large cohorts", "open benchmarks", "long-term records",
)  # fmt: skip
_GAPS = (
    "its behaviour at scale remains poorly understood",
    "existing methods trade accuracy for cost",
    "most studies rely on small samples",
    "current evidence is fragmented",
    "standard assumptions rarely hold in practice",
)
_PROPER_WORDS = {"Bayesian"}
_UNITS = ("datasets", "sites", "cohorts", "settings", "benchmarks", "case studies")
_TITLE_TEMPLATES = (
    "{a_adj} {method} for {kw1}",
    "{kw1} in {context}: {study}",
    "on the {prop} of {kw1} under {kw2}",
    "towards {adj} {kw1} with {kw2}",
    "revisiting {kw1}: evidence from {context}",
    "{kw1} and {kw2}: {study}",
    "{a_adj} {method} linking {kw1} and {kw2}",
    "what drives {kw1}? {study} of {kw2}",
)
# Team sizes: mostly 2-6, a power-law tail to MAX_TEAM_SIZE (mean about 5).
_TEAM_SIZES = tuple(range(1, MAX_TEAM_SIZE + 1))
_TEAM_WEIGHTS = tuple(
    {1: 6.0, 2: 17.0, 3: 21.0, 4: 18.0, 5: 13.0, 6: 9.0}.get(k, 800.0 * k**-2.7)
    for k in _TEAM_SIZES
)


class _Weighted(Generic[T]):
    """A weighted choice with its cumulative weights computed once."""

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        self.items = items
        self.cum_weights = list(accumulate(weights))

    def pick(self, rng: random.Random) -> T:
        return rng.choices(self.items, cum_weights=self.cum_weights)[0]


def _zipf_weights(rng: random.Random, n: int, exponent: float) -> list[float]:
    """Popularity weights 1/rank**exponent, the ranks shuffled by the seed."""
    ranks = list(range(1, n + 1))
    rng.shuffle(ranks)
    return [1.0 / rank**exponent for rank in ranks]


def _with_article(word: str) -> str:
    # Good enough for the word lists here ("a unified", "an adaptive").
    return ("an " if word[0] in "aeio" else "a ") + word


def _lower_first(name: str) -> str:
    """ "Graph neural networks" -> "graph neural networks"; "CRISPR ..." and "Bayesian ..." stay."""
    if name[1:2].isupper() or name.split(" ", 1)[0] in _PROPER_WORDS:
        return name
    return name[:1].lower() + name[1:]


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------- the generator


class _Generator:
    def __init__(self, *, n_authors: int, seed: int, n_works: int | None = None) -> None:
        self.rng = random.Random(seed)
        self.n_authors = n_authors
        self.n_works = n_works
        self.seed = seed
        self.institutions = tuple(
            InstitutionRecord(
                openalex_id=synthetic_openalex_id("I", i),
                ror=synthetic_ror(i),
                display_name=name,
                country_code=country,
                type=kind,
                email_domains=(domain,),
            )
            for i, (name, country, kind, domain) in enumerate(_INSTITUTIONS)
        )
        self.topics = tuple(
            TopicRecord(
                openalex_id=synthetic_openalex_id("T", i),
                display_name=name,
                description=f"Generated demo topic: {', '.join(keywords[:3])} and related work.",
                keywords=keywords,
                subfield=_SUBFIELDS[subfield_id],
                subfield_id=subfield_id,
                field=_FIELDS[subfield_id // 100][0],
                field_id=subfield_id // 100,
                domain=_DOMAINS[_FIELDS[subfield_id // 100][1]],
                domain_id=_FIELDS[subfield_id // 100][1],
            )
            for i, (name, subfield_id, keyword_list) in enumerate(_TOPICS)
            for keywords in [tuple(k.strip() for k in keyword_list.split(";"))]
        )
        self.sources = tuple(
            SourceRecord(
                openalex_id=synthetic_openalex_id("S", i),
                display_name=name,
                type=kind,
                host_organization_name=host,
            )
            for i, (name, kind, host, _fields) in enumerate(_SOURCES)
        )
        rng = self.rng
        self.institution_choice = _Weighted(
            self.institutions, _zipf_weights(rng, len(self.institutions), 0.9)
        )
        topic_weights = _zipf_weights(rng, len(self.topics), 0.8)
        self.topic_choice = _Weighted(range(len(self.topics)), topic_weights)
        self.field_topic_choice: dict[int, _Weighted[int]] = {}
        for field_id in _FIELDS:
            pool = [i for i, t in enumerate(self.topics) if t.field_id == field_id]
            self.field_topic_choice[field_id] = _Weighted(pool, [topic_weights[i] for i in pool])
        source_weights = _zipf_weights(rng, len(self.sources), 0.6)
        self.field_source_choice: dict[int, _Weighted[SourceRecord]] = {}
        for field_id in _FIELDS:
            pool = [
                i
                for i, (_n, _k, _h, fields) in enumerate(_SOURCES)
                if not fields or field_id in fields
            ]
            self.field_source_choice[field_id] = _Weighted(
                [self.sources[i] for i in pool], [source_weights[i] for i in pool]
            )
        # Publication counts grow by about 7% a year.
        years = range(FIRST_YEAR, LAST_YEAR + 1)
        self.year_choice = _Weighted(years, [1.07 ** (y - FIRST_YEAR) for y in years])
        self.team_size_choice = _Weighted(_TEAM_SIZES, _TEAM_WEIGHTS)

        self.authors: list[AuthorRecord] = []
        self.author_topic_ids: list[tuple[int, ...]] = []
        # Each authorship appends its author once: a uniform pick from these lists
        # is a pick in proportion to works already written (preferential attachment).
        self.endpoints: list[int] = []
        self.topic_endpoints: dict[int, list[int]] = {}
        self.coauthors: list[list[int]] = []
        self.unused = n_authors
        self.remaining_slots = 0

    # -- authors

    def _take_new(self) -> bool:
        """New authors enter at the rate that uses up all of them in the remaining slots."""
        if self.unused <= 0:
            return False
        if not self.endpoints:
            return True
        return self.rng.random() * self.remaining_slots < self.unused

    def _name(self) -> tuple[str, tuple[str, ...]]:
        rng = self.rng
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        if rng.random() < 0.15:
            middle = rng.choice(_INITIALS)
            name = f"{first} {middle}. {last}"
            return name, (f"{first[0]}. {middle}. {last}", f"{last}, {first} {middle}.")
        return f"{first} {last}", (f"{first[0]}. {last}", f"{last}, {first}")

    def _new_author(self, *, topic_hint: int | None, institution: InstitutionRecord | None) -> int:
        rng = self.rng
        index = len(self.authors)
        display_name, variants = self._name()
        if institution is None or rng.random() < 0.6:
            institution = self.institution_choice.pick(rng)
        if topic_hint is None or rng.random() < 0.2:
            topic_hint = self.topic_choice.pick(rng)
        topic_ids = [topic_hint]
        for _ in range(rng.choices((0, 1, 2), weights=(4, 4, 2))[0]):
            choice = (
                self.field_topic_choice[self.topics[topic_hint].field_id]
                if rng.random() < 0.75
                else self.topic_choice
            )
            candidate = choice.pick(rng)
            if candidate not in topic_ids:
                topic_ids.append(candidate)
        self.authors.append(
            AuthorRecord(
                openalex_id=synthetic_openalex_id("A", index),
                display_name=display_name,
                name_variants=variants,
                orcid=synthetic_orcid(index) if rng.random() < 0.35 else "",
                institution=institution,
                topics=tuple(self.topics[t] for t in topic_ids),
            )
        )
        self.author_topic_ids.append(tuple(topic_ids))
        self.coauthors.append([])
        self.unused -= 1
        return index

    def _pick_coauthor(self, *, lead: int, topic: int, team: list[int]) -> int | None:
        rng = self.rng
        if self._take_new():
            return self._new_author(topic_hint=topic, institution=self.authors[lead].institution)
        for _attempt in range(6):
            roll = rng.random()
            if roll < 0.3 and self.coauthors[lead]:
                candidate = rng.choice(self.coauthors[lead])
            elif roll < 0.85 and self.topic_endpoints.get(topic):
                candidate = rng.choice(self.topic_endpoints[topic])
            else:
                candidate = rng.choice(self.endpoints)
            if candidate not in team:
                return candidate
        if self.unused > 0:
            return self._new_author(topic_hint=topic, institution=self.authors[lead].institution)
        return None

    # -- works

    def _team_sizes(self) -> list[int]:
        sizes: list[int] = []
        if self.n_works is not None:
            if not self.n_authors:
                return []
            return [
                min(self.team_size_choice.pick(self.rng), self.n_authors)
                for _ in range(self.n_works)
            ]
        target = WORKS_PER_AUTHOR * self.n_authors
        # A running total: summing the list on every turn made this quadratic.
        total = 0
        while total < target:
            size = min(self.team_size_choice.pick(self.rng), self.n_authors)
            sizes.append(size)
            total += size
        return sizes

    def _title(self, keywords: list[str]) -> str:
        rng = self.rng
        template = rng.choice(_TITLE_TEMPLATES)
        adjective = rng.choice(_ADJECTIVES)
        return _sentence_case(
            template.format(
                adj=adjective,
                a_adj=_with_article(adjective),
                method=rng.choice(_METHODS),
                prop=rng.choice(_PROPERTIES),
                study=rng.choice(_STUDIES),
                context=rng.choice(_CONTEXTS),
                kw1=keywords[0],
                kw2=keywords[1],
            )
        )

    def _abstract(self, topic: TopicRecord, keywords: list[str]) -> str:
        rng = self.rng
        improvement = rng.randint(3, 40)
        sentences = [
            f"Research on {keywords[0]} is central to {_lower_first(topic.display_name)}, "
            f"yet {rng.choice(_GAPS)}.",
            f"We present {_with_article(rng.choice(_ADJECTIVES))} {rng.choice(_METHODS)} "
            f"that links {keywords[0]} and {keywords[1]}.",
            f"We evaluate it on {rng.randint(2, 12)} {rng.choice(_UNITS)} and compare it "
            f"with established approaches to {keywords[2]}.",
            f"The results show a {improvement}% improvement in {keywords[1]} over the "
            f"strongest baseline.",
        ]
        if rng.random() < 0.6:
            sentences.append(
                f"We discuss implications for {keywords[3]} and outline directions for future work."
            )
        return " ".join(sentences)

    def _work(self, index: int, team: list[int], topic_id: int) -> dict[str, Any]:
        """A work's fields but its research record (`_ResearchRecord` adds that)."""
        rng = self.rng
        topic = self.topics[topic_id]
        tally: Counter[int] = Counter()
        for member in team:
            tally.update(self.author_topic_ids[member])
        # Secondary topics come from the team, within the primary topic's field.
        others = [
            t
            for t, _n in tally.most_common()
            if t != topic_id and self.topics[t].field_id == topic.field_id
        ]
        extra = others[: rng.choice((0, 1, 1, 2))]
        scores = sorted((round(rng.uniform(0.5, 0.9), 4) for _ in extra), reverse=True)
        work_topics = (
            WorkTopicRecord(topic, round(rng.uniform(0.9, 1.0), 4), True),
            *(
                WorkTopicRecord(self.topics[t], score, False)
                for t, score in zip(extra, scores, strict=True)
            ),
        )

        source = self.field_source_choice[topic.field_id].pick(rng)
        if source.type == "repository":
            work_type = "preprint"
        elif source.type == "journal" and rng.random() < 0.08:
            work_type = "review"
        else:
            work_type = "article"

        year = self.year_choice.pick(rng)
        # Generated dates stay in the past whenever the demo runs (2025-10 at the latest).
        month = rng.randint(1, 10 if year == LAST_YEAR else 12)
        published = date(year, month, rng.randint(1, 28))

        openalex_id = synthetic_openalex_id("W", index)
        doi = ""
        if work_type != "preprint" and rng.random() < 0.8:
            doi = DEMO_DOI_PREFIX + openalex_id.lower()
        keywords = list(topic.keywords)
        rng.shuffle(keywords)
        title = self._title(keywords)
        abstract = self._abstract(topic, keywords)
        cited_by = int(rng.lognormvariate(0.8, 1.3) * (LAST_YEAR + 1 - year) ** 0.8)

        corresponding = rng.random()
        corresponding_position = (
            0 if corresponding < 0.5 else len(team) - 1 if corresponding < 0.8 else -1
        )
        authorships = []
        for position, member in enumerate(team):
            author = self.authors[member]
            institutions: tuple[InstitutionRecord, ...] = (author.institution,)
            if rng.random() < 0.05:
                second = self.institution_choice.pick(rng)
                if second != author.institution:
                    institutions += (second,)
            authorships.append(
                AuthorshipRecord(
                    author=author,
                    position=position,
                    raw_author_name=author.display_name,
                    institutions=institutions,
                    is_corresponding=position == corresponding_position,
                )
            )
        return {
            "openalex_id": openalex_id,
            "doi": doi,
            "title": title,
            "abstract": abstract,
            "type": work_type,
            "publication_year": year,
            "publication_date": published,
            "source": source,
            "language": "en",
            "cited_by_count": cited_by,
            "topics": work_topics,
            "authorships": tuple(authorships),
        }

    def _team(self, size: int) -> tuple[list[int], int]:
        rng = self.rng
        self.remaining_slots -= 1
        lead = (
            self._new_author(topic_hint=None, institution=None)
            if self._take_new()
            else rng.choice(self.endpoints)
        )
        lead_topics = self.author_topic_ids[lead]
        topic = rng.choices(lead_topics, weights=(3, 1, 1)[: len(lead_topics)])[0]
        team = [lead]
        for _ in range(size - 1):
            self.remaining_slots -= 1
            member = self._pick_coauthor(lead=lead, topic=topic, team=team)
            if member is not None:
                team.append(member)
        # Senior authors are often listed last.
        if len(team) > 2 and rng.random() < 0.4:
            team.append(team.pop(0))
        for member in team:
            self.endpoints.append(member)
            for t in self.author_topic_ids[member]:
                self.topic_endpoints.setdefault(t, []).append(member)
            self.coauthors[member].extend(other for other in team if other != member)
        return team, topic

    def run(self) -> Population:
        sizes = self._team_sizes()
        # Slots are counted down so that `_take_new` introduces each author once.
        self.remaining_slots = sum(sizes)
        drafts = []
        for index, size in enumerate(sizes):
            team, topic = self._team(size)
            drafts.append(self._work(index, team, topic))
        # A generator of its own: the rest of the population stays as it was
        # before works had a research record.
        extras = _ResearchRecord(random.Random(f"{self.seed}:research-record")).add(drafts)
        works = [WorkRecord(**draft, **extra) for draft, extra in zip(drafts, extras, strict=True)]
        self._finish_authors(works)
        return Population(
            n_authors=self.n_authors,
            seed=self.seed,
            institutions=self.institutions,
            topics=self.topics,
            sources=self.sources,
            authors=tuple(self.authors),
            works=tuple(works),
        )

    def _finish_authors(self, works: list[WorkRecord]) -> None:
        topic_counts: dict[str, Counter[int]] = {}
        topic_index = {t.openalex_id: i for i, t in enumerate(self.topics)}
        for work in works:
            for authorship in work.authorships:
                author = authorship.author
                author.works_count += 1
                author.cited_by_count += work.cited_by_count
                counts = topic_counts.setdefault(author.openalex_id, Counter())
                counts.update(topic_index[wt.topic.openalex_id] for wt in work.topics)
        for author in self.authors:
            counts = topic_counts.get(author.openalex_id, Counter())
            top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:10]
            author.topic_counts = tuple((self.topics[t], n) for t, n in top)


# Citations by years since publication: a rise over the first years, then a
# decline, slower or faster from one work to the next. For each decay rate and
# number of years, the running share of the citations by the end of each year.
_DECAYS = (0.6, 0.7, 0.8, 0.9)


@cache
def _running_shares(decay: int, years: int) -> tuple[float, ...]:
    weights = list(accumulate((age + 0.6) * _DECAYS[decay] ** age for age in range(years)))
    return tuple(w / weights[-1] for w in weights)


# OpenAlex's oa_status values for journal and conference works, by share.
_OA_STATUSES = (
    ("gold", 0.16),
    ("hybrid", 0.07),
    ("bronze", 0.08),
    ("diamond", 0.03),
    ("green", 0.08),
)


class _ResearchRecord:
    """Citations per year, references, open access, retraction and biblio of generated works.

    References point only at works published earlier, in proportion to their
    citation counts (mostly within the work's primary topic), and never give a
    work more citations from generated works than its cited_by_count: the work
    page's "Cited by" list stays within the count it shows.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        # Works already published, per primary topic and over all.
        self.pools: dict[str, list[int]] = {}
        self.everything: list[int] = []
        # Citations a work can still receive from generated works.
        self.room: list[int] = []

    def add(self, drafts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        extras: list[dict[str, Any]] = [{} for _ in drafts]
        self.room = [draft["cited_by_count"] for draft in drafts]
        order = sorted(range(len(drafts)), key=lambda i: (drafts[i]["publication_date"], i))
        for index in order:
            draft = drafts[index]
            topic = draft["topics"][0].topic.openalex_id
            extras[index] = {
                "citation_decay": int(self.rng.random() * len(_DECAYS)),
                "referenced_works": self._references(drafts, draft["type"], topic),
                **self._access(draft),
            }
            # A work is in its pools once per citation: a uniform pick is a pick
            # in proportion to citations.
            if draft["cited_by_count"]:
                copies = [index] * draft["cited_by_count"]
                self.pools.setdefault(topic, []).extend(copies)
                self.everything.extend(copies)
        return extras

    def _references(
        self, drafts: list[dict[str, Any]], work_type: str, topic: str
    ) -> tuple[str, ...]:
        if not self.everything:
            return ()
        random_ = self.rng.random
        low = 15 if work_type == "review" else MIN_REFERENCES
        wanted = low + int(random_() ** 2 * (MAX_REFERENCES + 1 - low))
        topical = self.pools.get(topic) or self.everything
        choices = self.rng.choices
        room = self.room
        # Seven in ten from the work's own topic; a third more picks than wanted,
        # for those that repeat or point at a work with no room left.
        picks = choices(topical, k=wanted) + choices(self.everything, k=wanted // 3 + 1)
        chosen: dict[int, None] = {}
        for pick in picks:
            if room[pick] and pick not in chosen:
                chosen[pick] = None
                room[pick] -= 1
                if len(chosen) == wanted:
                    break
        return tuple(drafts[i]["openalex_id"] for i in chosen)

    def _access(self, draft: dict[str, Any]) -> dict[str, Any]:
        random_ = self.rng.random
        work_id = draft["openalex_id"]
        access: dict[str, Any] = {"is_retracted": random_() < RETRACTED_SHARE}
        if draft["source"].type == "repository":
            status = "green"
        else:
            status, roll = "closed", random_()
            for name, share in _OA_STATUSES:
                if roll < share:
                    status = name
                    break
                roll -= share
        if status == "green":
            url = f"{DEMO_REPOSITORY_URL}{work_id}"
            access |= {"is_oa": True, "oa_url": url, "pdf_url": f"{url}.pdf"}
        elif status != "closed":
            landing = (
                f"https://doi.org/{draft['doi']}"
                if draft["doi"]
                else f"{DEMO_JOURNAL_URL}{work_id}"
            )
            pdf = f"{DEMO_JOURNAL_URL}{work_id}.pdf" if status != "bronze" else ""
            access |= {"is_oa": True, "oa_url": landing, "pdf_url": pdf}
        access["oa_status"] = status
        if draft["source"].type == "journal":
            first = 1 + int(random_() * 1500)
            access["biblio"] = (
                ("volume", str(draft["publication_year"] - 1970)),
                ("issue", str(1 + int(random_() * 12))),
                ("first_page", str(first)),
                ("last_page", str(first + 4 + int(random_() * 26))),
            )
        return access


def generate_population(*, n_authors: int, seed: int, n_works: int | None = None) -> Population:
    """A synthetic population of `n_authors` authors and their works; pure and deterministic.

    `n_works`: that many works (the benchmark's corpus); by default about
    WORKS_PER_AUTHOR authorships per author (the demo's).
    """
    if n_authors < 0:
        raise ValueError("n_authors must be 0 or more")
    if n_works is not None and n_works < 0:
        raise ValueError("n_works must be 0 or more")
    return _Generator(n_authors=n_authors, seed=seed, n_works=n_works).run()


# ---------------------------------------------------------------- OpenAlex rendering


def _inverted_index(text: str) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for position, word in enumerate(text.split()):
        index.setdefault(word, []).append(position)
    return index


def _topic_json(topic: TopicRecord, score: float) -> dict[str, Any]:
    return {
        "id": _OPENALEX + topic.openalex_id,
        "display_name": topic.display_name,
        "score": score,
        "subfield": {
            "id": f"{_OPENALEX}subfields/{topic.subfield_id}",
            "display_name": topic.subfield,
        },
        "field": {"id": f"{_OPENALEX}fields/{topic.field_id}", "display_name": topic.field},
        "domain": {"id": f"{_OPENALEX}domains/{topic.domain_id}", "display_name": topic.domain},
    }


def _institution_json(institution: InstitutionRecord) -> dict[str, Any]:
    return {
        "id": _OPENALEX + institution.openalex_id,
        "display_name": institution.display_name,
        "ror": "https://ror.org/" + institution.ror,
        "country_code": institution.country_code,
        "type": institution.type,
        "lineage": [_OPENALEX + institution.openalex_id],
    }


def _author_position(position: int, count: int) -> str:
    if position == 0:
        return "first"
    return "last" if position == count - 1 else "middle"


def to_openalex_work(record: WorkRecord) -> dict[str, Any]:
    """The work as OpenAlex's `GET /works` returns it (the fields an importer reads)."""
    work_id = _OPENALEX + record.openalex_id
    doi_url = f"https://doi.org/{record.doi}" if record.doi else None
    source = record.source
    location: dict[str, Any] = {
        "is_oa": record.is_oa,
        "landing_page_url": record.oa_url or doi_url,
        "pdf_url": record.pdf_url or None,
        "source": {
            "id": _OPENALEX + source.openalex_id,
            "display_name": source.display_name,
            "issn_l": None,
            "issn": None,
            "host_organization_name": source.host_organization_name,
            "type": source.type,
        },
        "version": "submittedVersion" if record.type == "preprint" else "publishedVersion",
    }
    count = len(record.authorships)
    authorships: list[dict[str, Any]] = [
        {
            "author_position": _author_position(a.position, count),
            "author": {
                "id": _OPENALEX + a.author.openalex_id,
                "display_name": a.author.display_name,
                "orcid": f"https://orcid.org/{a.author.orcid}" if a.author.orcid else None,
            },
            "institutions": [_institution_json(i) for i in a.institutions],
            "countries": sorted({i.country_code for i in a.institutions}),
            "is_corresponding": a.is_corresponding,
            "raw_author_name": a.raw_author_name,
            "raw_affiliation_strings": [i.display_name for i in a.institutions],
            "affiliations": [
                {
                    "raw_affiliation_string": i.display_name,
                    "institution_ids": [_OPENALEX + i.openalex_id],
                }
                for i in a.institutions
            ],
        }
        for a in record.authorships
    ]
    topics = [_topic_json(wt.topic, wt.score) for wt in record.topics]
    institution_ids = {i.openalex_id for a in record.authorships for i in a.institutions}
    return {
        "id": work_id,
        "doi": doi_url,
        "title": record.title,
        "display_name": record.title,
        "publication_year": record.publication_year,
        "publication_date": record.publication_date.isoformat(),
        "ids": {"openalex": work_id, **({"doi": doi_url} if doi_url else {})},
        "language": record.language,
        "primary_location": location,
        "type": record.type,
        "authorships": authorships,
        "countries_distinct_count": len({c for a in authorships for c in a["countries"]}),
        "institutions_distinct_count": len(institution_ids),
        "corresponding_author_ids": [
            _OPENALEX + a.author.openalex_id for a in record.authorships if a.is_corresponding
        ],
        "cited_by_count": record.cited_by_count,
        "primary_topic": topics[0] if topics else None,
        "topics": topics,
        "locations_count": 1,
        "locations": [location],
        "abstract_inverted_index": _inverted_index(record.abstract) if record.abstract else None,
        # OpenAlex lists the newest year first.
        "counts_by_year": [
            {"year": year, "cited_by_count": cited}
            for year, cited in reversed(record.counts_by_year)
        ],
        "referenced_works": [_OPENALEX + w for w in record.referenced_works],
        "referenced_works_count": len(record.referenced_works),
        "is_retracted": record.is_retracted,
        "open_access": {
            "is_oa": record.is_oa,
            "oa_status": record.oa_status or "closed",
            "oa_url": record.oa_url or None,
            "any_repository_has_fulltext": record.oa_status == "green",
        },
        "best_oa_location": location if record.is_oa else None,
        "biblio": {
            key: dict(record.biblio).get(key)
            for key in ("volume", "issue", "first_page", "last_page")
        },
    }
