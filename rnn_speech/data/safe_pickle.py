"""Load pickled numpy arrays without letting the pickle run code.

``pickle.load`` will call any importable callable a file names, so a crafted
``X_train.p`` could run a shell command. This unpickler resolves only the few
globals numpy itself emits when pickling arrays (protocols 2-5) and refuses
everything else by name.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

from rnn_speech.errors import UserInputError

# What numpy 1.x and 2.x write when an ndarray, a dtype or a numpy scalar is pickled.
# (numpy 2 renamed numpy.core to numpy._core; old files still name numpy.core.)
_ALLOWED_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        # Protocol-2 pickles carry raw bytes as latin-1 text re-encoded by this function.
        ("_codecs", "encode"),
    }
)


class RefusedPickleError(UserInputError):
    """The pickle names something other than numpy arrays and plain containers."""


class _ArrayOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: D401 - pickle API
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def load_array_pickle(path: Path):
    """Unpickle ``path``, admitting only numpy arrays, dtypes, scalars and plain containers."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise UserInputError(f"{path}: file not found") from None
    except OSError as err:
        raise UserInputError(f"{path}: cannot read ({err.strerror})") from None
    try:
        # latin1 lets numpy arrays pickled by Python 2 load (numpy's documented advice).
        return _ArrayOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()
    except pickle.UnpicklingError as err:
        if str(err).startswith("refusing to load"):
            raise RefusedPickleError(
                f"{path}: {err}; only numpy arrays may appear in a data pickle "
                "(a pickle can run code, so anything else is refused)"
            ) from None
        raise UserInputError(f"{path}: not a readable pickle ({err})") from None
    except (EOFError, ValueError, TypeError, IndexError, AttributeError, KeyError) as err:
        raise UserInputError(
            f"{path}: not a readable pickle of a numpy array (truncated or corrupt: {err or type(err).__name__})"
        ) from None
