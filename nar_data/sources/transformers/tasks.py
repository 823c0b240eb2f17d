"""Which classes the ``transformers`` source lists: the Auto tables of ``transformers.models.auto``, as tasks."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

__all__ = ["TASKS", "auto_class", "class_owners", "class_names", "iter_classes"]

#: ``MODEL_FOR_<X>_MAPPING_NAMES`` -> task name (Hub pipeline tag where there is one). Order = priority
#: when one class sits in several tables (e.g. a VLM in image-text-to-text and multimodal-lm).
TASKS: dict[str, str] = {
    "MODEL_MAPPING_NAMES": "feature-extraction",
    "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES": "text-generation",
    "MODEL_FOR_MASKED_LM_MAPPING_NAMES": "fill-mask",
    "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES": "text2text-generation",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES": "text-classification",
    "MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES": "token-classification",
    "MODEL_FOR_QUESTION_ANSWERING_MAPPING_NAMES": "question-answering",
    "MODEL_FOR_MULTIPLE_CHOICE_MAPPING_NAMES": "multiple-choice",
    "MODEL_FOR_NEXT_SENTENCE_PREDICTION_MAPPING_NAMES": "next-sentence-prediction",
    "MODEL_FOR_PRETRAINING_MAPPING_NAMES": "pretraining",
    "MODEL_FOR_TEXT_ENCODING_MAPPING_NAMES": "text-encoding",
    "MODEL_FOR_TABLE_QUESTION_ANSWERING_MAPPING_NAMES": "table-question-answering",
    "MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES": "image-classification",
    "MODEL_FOR_ZERO_SHOT_IMAGE_CLASSIFICATION_MAPPING_NAMES": "zero-shot-image-classification",
    "MODEL_FOR_IMAGE_MAPPING_NAMES": "image-feature-extraction",
    "MODEL_FOR_MASKED_IMAGE_MODELING_MAPPING_NAMES": "masked-image-modeling",
    "MODEL_FOR_CAUSAL_IMAGE_MODELING_MAPPING_NAMES": "causal-image-modeling",
    "MODEL_FOR_IMAGE_SEGMENTATION_MAPPING_NAMES": "image-segmentation",
    "MODEL_FOR_SEMANTIC_SEGMENTATION_MAPPING_NAMES": "semantic-segmentation",
    "MODEL_FOR_INSTANCE_SEGMENTATION_MAPPING_NAMES": "instance-segmentation",
    "MODEL_FOR_UNIVERSAL_SEGMENTATION_MAPPING_NAMES": "universal-segmentation",
    "MODEL_FOR_OBJECT_DETECTION_MAPPING_NAMES": "object-detection",
    "MODEL_FOR_ZERO_SHOT_OBJECT_DETECTION_MAPPING_NAMES": "zero-shot-object-detection",
    "MODEL_FOR_DEPTH_ESTIMATION_MAPPING_NAMES": "depth-estimation",
    "MODEL_FOR_NORMAL_ESTIMATION_MAPPING_NAMES": "normal-estimation",
    "MODEL_FOR_POINTMAP_ESTIMATION_MAPPING_NAMES": "pointmap-estimation",
    "MODEL_FOR_POSE_ESTIMATION_MAPPING_NAMES": "pose-estimation",
    "MODEL_FOR_KEYPOINT_DETECTION_MAPPING_NAMES": "keypoint-detection",
    "MODEL_FOR_KEYPOINT_MATCHING_MAPPING_NAMES": "keypoint-matching",
    "MODEL_FOR_MASK_GENERATION_MAPPING_NAMES": "mask-generation",
    "MODEL_FOR_IMAGE_TO_IMAGE_MAPPING_NAMES": "image-to-image",
    "MODEL_FOR_IMAGE_MATTING_MAPPING_NAMES": "image-matting",
    "MODEL_FOR_BACKBONE_MAPPING_NAMES": "backbone",
    "MODEL_FOR_VIDEO_CLASSIFICATION_MAPPING_NAMES": "video-classification",
    "MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES": "image-text-to-text",
    "MODEL_FOR_MULTIMODAL_LM_MAPPING_NAMES": "any-to-any",
    "MODEL_FOR_VISUAL_QUESTION_ANSWERING_MAPPING_NAMES": "visual-question-answering",
    "MODEL_FOR_DOCUMENT_QUESTION_ANSWERING_MAPPING_NAMES": "document-question-answering",
    "MODEL_FOR_TEXT_RECOGNITION_MAPPING_NAMES": "text-recognition",
    "MODEL_FOR_TABLE_RECOGNITION_MAPPING_NAMES": "table-recognition",
    "MODEL_FOR_RETRIEVAL_MAPPING_NAMES": "visual-document-retrieval",
    "MODEL_FOR_AUDIO_CLASSIFICATION_MAPPING_NAMES": "audio-classification",
    "MODEL_FOR_AUDIO_FRAME_CLASSIFICATION_MAPPING_NAMES": "audio-frame-classification",
    "MODEL_FOR_AUDIO_XVECTOR_MAPPING_NAMES": "audio-xvector",
    "MODEL_FOR_CTC_MAPPING_NAMES": "automatic-speech-recognition",
    "MODEL_FOR_SPEECH_SEQ_2_SEQ_MAPPING_NAMES": "speech-seq2seq",
    "MODEL_FOR_RNNT_MAPPING_NAMES": "speech-rnnt",
    "MODEL_FOR_TDT_MAPPING_NAMES": "speech-tdt",
    "MODEL_FOR_TEXT_TO_SPECTROGRAM_MAPPING_NAMES": "text-to-spectrogram",
    "MODEL_FOR_TEXT_TO_WAVEFORM_MAPPING_NAMES": "text-to-audio",
    "MODEL_FOR_TIME_SERIES_CLASSIFICATION_MAPPING_NAMES": "time-series-classification",
    "MODEL_FOR_TIME_SERIES_REGRESSION_MAPPING_NAMES": "time-series-regression",
    "MODEL_FOR_TIME_SERIES_PREDICTION_MAPPING_NAMES": "time-series-forecasting",
    "MODEL_FOR_DECISION_MAPPING_NAMES": "reinforcement-learning",
}


def _task_of_table(table: str) -> str:
    if table in TASKS:
        return TASKS[table]
    return table.removeprefix("MODEL_FOR_").removesuffix("_MAPPING_NAMES").lower().replace("_", "-")


def class_names(value: Any) -> list[str]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def iter_classes() -> Iterator[tuple[str, str, str, bool]]:
    """``(model_type, class_name, task, is_base)`` for every base model and task head, without imports.

    Only model types with an ``AutoModel`` mapping count; a class that sits in several task tables is
    listed once, under the first task of `TASKS` order.
    """
    from transformers.models.auto import modeling_auto

    base = modeling_auto.MODEL_MAPPING_NAMES
    tables = [n for n in TASKS if hasattr(modeling_auto, n)]
    tables += sorted(n for n in dir(modeling_auto) if n.startswith("MODEL_FOR_") and n.endswith("_MAPPING_NAMES")
                     and n not in TASKS)
    seen: set[tuple[str, str]] = set()
    for model_type, value in base.items():
        for cls in class_names(value):
            seen.add((model_type, cls))
            yield model_type, cls, TASKS["MODEL_MAPPING_NAMES"], True
    for table in tables[1:]:
        for model_type, value in getattr(modeling_auto, table).items():
            if model_type not in base:
                continue
            for cls in class_names(value):
                if (model_type, cls) not in seen:
                    seen.add((model_type, cls))
                    yield model_type, cls, _task_of_table(table), False


def class_owners(classes: list[tuple[str, str, str, bool]]) -> dict[str, str]:
    """For each class listed under several model types, the model type that owns it: the one whose name
    (without ``_``/``-``) the class name starts with, the longest such; else the first listed."""
    types: dict[str, list[str]] = {}
    for model_type, cls, _, _ in classes:
        types.setdefault(cls, [])
        if model_type not in types[cls]:
            types[cls].append(model_type)
    owners = {}
    for cls, mts in types.items():
        if len(mts) > 1:
            key = cls.lower()
            matching = [m for m in mts if key.startswith(m.replace("_", "").replace("-", ""))]
            owners[cls] = max(matching, key=len) if matching else mts[0]
    return owners


def auto_class(task: str) -> str:
    """The ``AutoModel...`` class whose mapping is the table of ``task`` (``"text-generation"`` -> ``AutoModelForCausalLM``)."""
    return _auto_classes().get(next((t for t, v in TASKS.items() if v == task), ""), "")


@lru_cache(maxsize=1)
def _auto_classes() -> dict[str, str]:
    from transformers.models.auto import modeling_auto

    tables = {id(getattr(modeling_auto, t)): t for t in dir(modeling_auto) if t.endswith("_MAPPING_NAMES")}
    out: dict[str, str] = {}
    for name in dir(modeling_auto):
        mapping = getattr(getattr(modeling_auto, name), "_model_mapping", None) if name.startswith("AutoModel") else None
        table = tables.get(id(getattr(mapping, "_model_mapping", None)))
        if table:
            out.setdefault(table, name)
    return out
