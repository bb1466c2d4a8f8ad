"""The code generation target of Brian2's runtime mode that the benchmarks
use: Cython where it works on this machine, numpy otherwise."""


def runtime_target():
    try:
        from brian2.codegen.runtime.cython_rt import CythonCodeObject
        if CythonCodeObject.is_available():
            return 'cython'
    except Exception:
        pass
    return 'numpy'
