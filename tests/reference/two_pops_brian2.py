#!/usr/bin/python3
"""Reference spike times for tests/integration/simulate_brian2.sh, computed
by Brian2 (Debian python3-brian): the network of
tests/data/snn/two_pops.ini, written independently in Brian2's own terms.
Run it once where Brian2 is installed and commit its output
(tests/data/snn/two_pops_brian2.txt); the test does not need Brian2.

    /usr/bin/python3 tests/reference/two_pops_brian2.py > tests/data/snn/two_pops_brian2.txt
"""
import numpy as np
from brian2 import (NeuronGroup, Synapses, SpikeMonitor, Network, defaultclock, ms, mV,
                    prefs, __version__)

prefs.codegen.target = "numpy"
defaultclock.dt = 0.1 * ms

eqs = """
dv/dt  = (ge + gi - (v - El)) / taum : volt (unless refractory)
dge/dt = -ge / taue : volt
dgi/dt = -gi / taui : volt
El : volt (constant)
taum : second (constant)
taue : second (constant)
taui : second (constant)
"""
# A: 10 neurons that fire on their own (rest above threshold), staggered start
A = NeuronGroup(10, eqs, threshold="v > -50*mV", reset="v = -60*mV", refractory=5 * ms,
                method="exact", name="A")
A.El, A.taum, A.taue, A.taui = -49 * mV, 20 * ms, 5 * ms, 10 * ms
A.v = np.linspace(-60, -50.5, 10) * mV
# B: 5 neurons driven only by A
B = NeuronGroup(5, eqs, threshold="v > -50*mV", reset="v = -60*mV", refractory=2 * ms,
                method="exact", name="B")
B.El, B.taum, B.taue, B.taui = -56 * mV, 10 * ms, 5 * ms, 8 * ms
B.v = np.linspace(-60, -52, 5) * mV
AB = Synapses(A, B, on_pre="ge += 6*mV", delay=1.5 * ms)
AB.connect()
BA = Synapses(B, A, on_pre="gi += -3*mV")
BA.connect()
ma, mb = SpikeMonitor(A), SpikeMonitor(B)
net = Network(A, B, AB, BA, ma, mb)
net.run(300 * ms)
print(f"# Brian2 {__version__}, numpy target, dt 0.1 ms, 300 ms: population id time_ms")
for name, mon in (("A", ma), ("B", mb)):
    for i, t in sorted(zip(np.asarray(mon.i), np.asarray(mon.t / ms)), key=lambda x: (x[1], x[0])):
        print(f"{name} {i} {t:.1f}")
