"""Invented datasets in the official layouts, for rehearsing the full profile without the real data.

The rehearsal profile runs every full-profile code path on these folders, pointed to by the same
``LATENTSEP_*`` variables a user sets for the real releases (:func:`write_rehearsal_data`):

* :func:`write_mimic` — MIMIC-CXR-JPG (``mimic-cxr-2.0.0-{metadata,chexpert,split}.csv.gz`` in
  the official column order, grayscale JPEGs under ``files/p../p<subject>/s<study>/``) and MIMIC-IV
  ``hosp/{patients,admissions}.csv.gz``;
* :func:`write_ham10000` — HAM10000's Dataverse layout (``HAM10000_metadata.tab`` with the
  ``dataset`` column, ``HAM10000_images_part_1/_part_2``) with the ISIC 2018 Task 3 test labels
  (``ISIC2018_Task3_Test_GroundTruth.tab``) and ``ISIC2018_Task3_Test_Images/``;
* :func:`write_civilcomments` — the WILDS archive ``civilcomments_v1.0/all_data_with_identities.csv``;
* :func:`place_mnist_stand_in` — Fashion-MNIST's IDX files where a user's full MNIST goes
  (``<data_dir>/mnist/raw/``) with a ``REHEARSAL.txt`` marker, so the unscaled split sizes run;
  :func:`latentsep.data.mnist.describe_source` prints the marker on every page.

Every value is random (seeded); nothing is real and no number computed from these files means
anything. The fixture scripts under ``tests/fixtures/*/make_fixture.py`` use the same writers.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from latentsep.data.civilcomments import FAMILIES

#: Text of the marker placed next to stand-in files; printed wherever the data source is described.
REHEARSAL_NOTICE = ("REHEARSAL ONLY: invented or stand-in data (Fashion-MNIST's IDX files in place "
                    "of MNIST); no number computed from it is a result.")
MARKER = "REHEARSAL.txt"


# --------------------------------------------------------------------------------------------
# writers shared with the test fixtures


def write_gz(path: Path, text: str) -> None:
    """Gzip ``text`` to ``path`` with mtime 0 (byte-reproducible), creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                filename="") as fh:
        fh.write(text.encode())


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Comma-separated text with a header line (quoted where needed, ``\\n`` line ends)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def write_csv(path: Path, header: Sequence[str], records: Iterable[Mapping[str, object]]) -> None:
    """Write dict records as CSV in ``header`` order (absent keys as blanks)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(csv_text(header, ([rec.get(c, "") for c in header] for rec in records)))


def write_tab(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Dataverse style: tab-separated, strings in double quotes, numbers and blanks bare."""
    def cell(value: str) -> str:
        return value if value == "" or value.replace(".", "").isdigit() else f'"{value}"'

    lines = ["\t".join(f'"{h}"' for h in header)]
    lines += ["\t".join(cell(v) for v in row) for row in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def write_jpeg(path: Path, rng: np.random.Generator, shape: tuple[int, ...] = (15, 20, 3),
               quality: int = 75) -> None:
    """A random-noise JPEG of ``shape`` ((H, W) grayscale or (H, W, 3) colour)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, size=shape, dtype=np.uint8)).save(path, quality=quality)


#: CivilComments identity columns in the official order, and the toxicity sub-scores.
IDENTITIES = [
    "male", "female", "transgender", "other_gender", "heterosexual", "homosexual_gay_or_lesbian",
    "bisexual", "other_sexual_orientation", "christian", "jewish", "muslim", "hindu", "buddhist",
    "atheist", "other_religion", "black", "white", "asian", "latino", "other_race_or_ethnicity",
    "physical_disability", "intellectual_or_learning_disability", "psychiatric_or_mental_illness",
    "other_disability",
]
TOXIC_SUB = ["severe_toxicity", "obscene", "sexual_explicit", "identity_attack", "insult", "threat"]
_BASE = ["id", "comment_text", "split", "created_date", "publication_id", "parent_id", "article_id",
         "rating", "funny", "wow", "sad", "likes", "disagree"]
ALL_DATA_COLUMNS = [*_BASE, "toxicity", *TOXIC_SUB, *IDENTITIES, "identity_annotator_count",
                    "toxicity_annotator_count"]
WILDS_COLUMNS = ["", *ALL_DATA_COLUMNS, "LGBTQ", "other_religions", "asian_latino_etc",
                 "disability_any", "identity_any", "num_identities", "more_than_one_identity",
                 "na_gender", "na_orientation", "na_religion", "na_race", "na_disability"]


def civil_record(cid: int, text: str, split: str, date: str, tox: float,
                 scores: Mapping[str, float] | None) -> dict:
    """One CivilComments row (every column of ``all_data.csv``; ``target`` = toxicity).

    ``scores`` maps identities to their score (others 0.0); None leaves the identity columns
    blank, as for the rows nobody annotated.
    """
    rec = {"id": cid, "comment_text": text, "split": split, "created_date": date,
           "publication_id": 21, "parent_id": "", "article_id": 330000 + cid % 1000,
           "rating": "approved", "funny": 0, "wow": 0, "sad": 0, "likes": 1, "disagree": 0,
           "toxicity": tox, "target": tox, "toxicity_annotator_count": 10}
    rec.update({c: 0.0 for c in TOXIC_SUB})
    if scores is None:
        rec.update({c: "" for c in IDENTITIES}, identity_annotator_count=0)
    else:
        rec.update({c: scores.get(c, 0.0) for c in IDENTITIES}, identity_annotator_count=4)
    return rec


def wilds_extras(rec: Mapping[str, object]) -> dict:
    """The aggregate columns WILDS appends to an annotated row."""
    def hit(cols: Sequence[str]) -> int:
        return int(any(rec[c] >= 0.5 for c in cols))

    groups = [IDENTITIES[:4], IDENTITIES[4:8], IDENTITIES[8:15], IDENTITIES[15:20],
              IDENTITIES[20:]]
    n = sum(rec[c] >= 0.5 for c in IDENTITIES)
    return {"LGBTQ": hit(["transgender", *IDENTITIES[5:8]]),
            "other_religions": hit(IDENTITIES[11:15]), "asian_latino_etc": hit(IDENTITIES[17:20]),
            "disability_any": hit(IDENTITIES[20:]), "identity_any": int(n > 0),
            "num_identities": n, "more_than_one_identity": n > 1,
            **{f"na_{k}": 1 - hit(g) for k, g in zip(
                ["gender", "orientation", "religion", "race", "disability"], groups,
                strict=True)}}


def write_wilds(root: Path, records: Sequence[Mapping[str, object]]) -> Path:
    """``civilcomments_v1.0/all_data_with_identities.csv`` (+ ``RELEASE_v1.0.txt``) of annotated
    ``records``, in the WILDS pandas-index layout; returns the CSV path."""
    folder = root / "civilcomments_v1.0"
    path = folder / "all_data_with_identities.csv"
    write_csv(path, WILDS_COLUMNS, [{"": i, **rec, **wilds_extras(rec)}
                                    for i, rec in enumerate(records)])
    (folder / "RELEASE_v1.0.txt").write_text("")
    return path


# --------------------------------------------------------------------------------------------
# generated datasets

MIMIC_METADATA_COLUMNS = [
    "dicom_id", "subject_id", "study_id", "PerformedProcedureStepDescription", "ViewPosition",
    "Rows", "Columns", "StudyDate", "StudyTime", "ProcedureCodeSequence_CodeMeaning",
    "ViewCodeSequence_CodeMeaning", "PatientOrientationCodeSequence_CodeMeaning"]
CHEXPERT_LABELS = [
    "Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Enlarged Cardiomediastinum",
    "Fracture", "Lung Lesion", "Lung Opacity", "No Finding", "Pleural Effusion", "Pleural Other",
    "Pneumonia", "Pneumothorax", "Support Devices"]
PATIENTS_HEADER = ["subject_id", "gender", "anchor_age", "anchor_year", "anchor_year_group", "dod"]
ADMISSIONS_HEADER = [
    "subject_id", "hadm_id", "admittime", "dischtime", "deathtime", "admission_type",
    "admit_provider_id", "admission_location", "discharge_location", "insurance", "language",
    "marital_status", "race", "edregtime", "edouttime", "hospital_expire_flag"]
_VIEWS = {"PA": ("CHEST (PA AND LAT)", "postero-anterior"),
          "AP": ("CHEST (PORTABLE AP)", "antero-posterior"),
          "LATERAL": ("CHEST (PA AND LAT)", "lateral"), "LL": ("CHEST (SINGLE VIEW)", "left lateral")}


def _pick(rng: np.random.Generator, values: Sequence[str], p: Sequence[float]) -> str:
    return str(values[rng.choice(len(values), p=np.asarray(p) / np.sum(p))])


def write_mimic(root: Path, n_subjects: int = 120, seed: int = 0) -> tuple[Path, Path]:
    """MIMIC-CXR-JPG + MIMIC-IV ``hosp`` with ``n_subjects`` invented patients (~2.25 images each).

    Label and attribute values are drawn near 50/50 (unlike the real release), so that a small
    pilot sample still fills every (class, group) cell the histogram estimator needs.

    Returns
    -------
    (cxr_root, mimic_iv_root)
    """
    rng = np.random.default_rng(seed)
    cxr, iv = root / "mimic-cxr-jpg", root / "mimiciv"
    meta, chex, split, patients, admissions = [], [], [], [], []
    for s in range(n_subjects):
        subject = 10000000 + 7919 * s
        official = _pick(rng, ["train", "validate", "test"], [0.8, 0.1, 0.1])
        for t in range(int(rng.integers(1, 3))):
            study = 50000000 + 100 * s + t
            effusion = _pick(rng, ["1.0", "0.0", "", "-1.0"], [0.47, 0.3, 0.18, 0.05])
            devices = _pick(rng, ["1.0", "0.0", "", "-1.0"], [0.45, 0.3, 0.2, 0.05])
            labels = [_pick(rng, ["1.0", "0.0", "", "-1.0"], [0.1, 0.1, 0.75, 0.05])
                      for _ in CHEXPERT_LABELS]
            labels[9], labels[13] = effusion, devices
            chex.append([subject, study, *labels])
            date = f"21{rng.integers(10, 90)}{rng.integers(1, 13):02d}{rng.integers(1, 29):02d}"
            for i in range(int(rng.integers(1, 3))):
                dicom = f"{rng.integers(16**7, 16**8):08x}-{s:08d}-{t:08d}-{i:08d}-{seed:08d}"
                view = _pick(rng, [*_VIEWS, ""], [0.15, 0.35, 0.35, 0.1, 0.05])
                procedure, meaning = _VIEWS.get(view, ("CHEST (PA AND LAT)", ""))
                orientation = _pick(rng, ["Erect", "Recumbent", ""], [0.5, 0.4, 0.1])
                meta.append([dicom, subject, study, procedure, view, 3056, 2544, date, "93015.125",
                             procedure, meaning, orientation])
                split.append([dicom, study, subject, official])
                path = (cxr / "files" / f"p{str(subject)[:2]}" / f"p{subject}" / f"s{study}"
                        / f"{dicom}.jpg")
                write_jpeg(path, rng, (40, 32), quality=90)  # grayscale, like MIMIC
        if rng.random() < 0.95:  # a few patients lack demographics, as in the real join
            age = int(rng.integers(30, 92))
            patients.append([subject, _pick(rng, ["M", "F"], [1, 1]), age, 2150,
                             "2014 - 2016", ""])
            for a in range(int(rng.integers(1, 3))):
                patients_admit = f"21{50 + a}-0{a + 1}-11 22:05:00"
                admissions.append([
                    subject, 20000000 + 10 * s + a, patients_admit, patients_admit, "", "URGENT",
                    "P00XY1", "EMERGENCY ROOM", "HOME",
                    _pick(rng, ["Private", "Medicare", "Medicaid", "Other"], [0.5, 0.2, 0.2, 0.1]),
                    _pick(rng, ["ENGLISH", "SPANISH", "?"], [0.5, 0.4, 0.1]),
                    _pick(rng, ["MARRIED", "SINGLE", "WIDOWED", ""], [0.45, 0.3, 0.15, 0.1]),
                    _pick(rng, ["WHITE", "BLACK/AFRICAN AMERICAN", "ASIAN", "HISPANIC/LATINO",
                                "UNKNOWN"], [0.45, 0.2, 0.15, 0.15, 0.05]), "", "", 0])
    write_gz(cxr / "mimic-cxr-2.0.0-metadata.csv.gz", csv_text(MIMIC_METADATA_COLUMNS, meta))
    write_gz(cxr / "mimic-cxr-2.0.0-chexpert.csv.gz",
             csv_text(["subject_id", "study_id", *CHEXPERT_LABELS], chex))
    write_gz(cxr / "mimic-cxr-2.0.0-split.csv.gz",
             csv_text(["dicom_id", "study_id", "subject_id", "split"], split))
    write_gz(iv / "hosp" / "patients.csv.gz", csv_text(PATIENTS_HEADER, patients))
    write_gz(iv / "hosp" / "admissions.csv.gz", csv_text(ADMISSIONS_HEADER, admissions))
    return cxr, iv


HAM_HEADER = ["lesion_id", "image_id", "dx", "dx_type", "age", "sex", "localization", "dataset"]
_DX = (["nv", "mel", "bkl", "bcc", "akiec", "vasc", "df"], [0.45, 0.25, 0.1, 0.05, 0.1, 0.03, 0.02])
_SITES = ["back", "trunk", "abdomen", "chest", "face", "neck", "scalp", "upper extremity",
          "lower extremity", "hand", "foot", "acral", "unknown"]
_SOURCES = ["vidir_molemax", "vidir_modern", "rosendahl", "vienna_dias"]


def _ham_rows(rng: np.random.Generator, n: int, lesion_prefix: str, first_image: int
              ) -> list[tuple[str, ...]]:
    rows, image = [], first_image
    for lesion in range(n):
        attributes = (_pick(rng, *_DX), _pick(rng, ["histo", "follow_up", "consensus"], [2, 1, 1]),
                      _pick(rng, [f"{5 * a}.0" for a in range(1, 18)] + [""], [1] * 17 + [0.3]),
                      _pick(rng, ["male", "female", "unknown"], [0.48, 0.48, 0.04]),
                      _pick(rng, _SITES, [1] * 12 + [0.5]), _pick(rng, _SOURCES, [1, 1, 1, 1]))
        for _ in range(int(rng.integers(1, 3))):
            rows.append((f"{lesion_prefix}_{lesion:07d}", f"ISIC_{image:07d}", *attributes))
            image += 1
    return rows


def write_ham10000(root: Path, n_lesions: int = 100, n_test: int = 40, seed: int = 0) -> Path:
    """HAM10000 (Dataverse layout) with ISIC 2018 Task 3 test labels; returns the root."""
    rng = np.random.default_rng(seed)
    ham = _ham_rows(rng, n_lesions, "HAM", 24000000)
    test = _ham_rows(rng, n_test, "HAMTEST", 34000000)
    write_tab(root / "HAM10000_metadata.tab", HAM_HEADER, ham)
    write_tab(root / "ISIC2018_Task3_Test_GroundTruth.tab", HAM_HEADER, test)
    for i, row in enumerate(ham):
        part = "HAM10000_images_part_1" if i < len(ham) // 2 else "HAM10000_images_part_2"
        write_jpeg(root / part / f"{row[1]}.jpg", rng, (30, 40, 3))
    for row in test:
        write_jpeg(root / "ISIC2018_Task3_Test_Images" / f"{row[1]}.jpg", rng, (30, 40, 3))
    return root


_WORDS = ("the people city news vote tax school road plan party story idea year money court law "
          "team water price market police fire health work game park music street").split()


def write_civilcomments(root: Path, n: int = 300, seed: int = 0) -> Path:
    """CivilComments in the WILDS layout with ``n`` annotated invented comments; returns the root.

    Toxic and non-toxic comments, each identity family and the years before and from 2017 are
    drawn near 50/50, so that a small pilot sample fills every (class, group) cell; the comments
    are short (3-11 words), which keeps a CPU pass of bert-base-uncased over them quick.
    """
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        scores = {}
        for family in FAMILIES.values():  # each family mentioned in about half of the rows
            if rng.random() < 0.5:
                scores[str(rng.choice(family))] = float(rng.choice([0.5, 0.7, 1.0]))
        text = " ".join(rng.choice(_WORDS, size=int(rng.integers(3, 12))))
        date = f"{rng.choice([2015, 2016, 2017, 2017])}-0{rng.integers(1, 10)}-1{rng.integers(0, 9)} " \
               "10:00:00.000000+00"
        records.append(civil_record(7000000 + i, text.capitalize() + ".",
                                    _pick(rng, ["train", "val", "test"], [0.8, 0.1, 0.1]), date,
                                    round(float(rng.beta(1.0, 1.0)), 4), scores))
    write_wilds(root, records)
    return root


def place_mnist_stand_in(data_dir: Path, source: Path) -> Path:
    """Link Fashion-MNIST's four IDX files into ``<data_dir>/mnist/raw/`` with the marker.

    ``source`` is a folder holding ``train-images-idx3-ubyte.gz`` and the three others (e.g.
    ``/usr/share/datasets/fashion-mnist``). Returns the ``raw`` folder.
    """
    raw = data_dir / "mnist" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        target = source / f"{name}.gz"
        if not target.is_file():
            raise FileNotFoundError(f"{target} does not exist; pass the folder of Fashion-MNIST's "
                                    "four .gz IDX files (Debian: apt-get install "
                                    "dataset-fashion-mnist).")
        link = raw / f"{name}.gz"
        if link.is_symlink() and link.resolve() == target.resolve():
            continue  # already in place (a concurrent run may be reading it)
        link.unlink(missing_ok=True)
        os.symlink(target.resolve(), link)
    if rehearsal_notice(raw) != REHEARSAL_NOTICE:
        (raw / MARKER).write_text(REHEARSAL_NOTICE + "\n")
    return raw


def rehearsal_notice(folder: Path) -> str | None:
    """The marker text when ``folder`` holds rehearsal stand-in data, else None."""
    marker = Path(folder) / MARKER
    return marker.read_text(encoding="utf-8").strip() if marker.is_file() else None
