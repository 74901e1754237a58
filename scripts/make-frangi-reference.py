#!/usr/bin/env python3
"""Writes the scikit-image `frangi` reference fixtures used by VesselCoreTests.

Run once (and whenever the fixtures must change):
    scripts/make-frangi-reference.py            # creates/reuses .bench-venv, installs scikit-image

Output (Tests/VesselCoreTests/Fixtures/): for each case NAME
    NAME.input.f32   float32 little-endian, row-major, width*height samples
    NAME.frangi.f32  skimage.filters.frangi output, same layout
and frangi-reference.json describing every case (size, sigmas, beta, gamma, black_ridges,
scikit-image version).

Parameter mapping (what the Swift test must do to compare like with like):
- scikit-image >= 0.20 computes the Hessian with Gaussian-derivative kernels and does NOT
  multiply it by sigma^2; VesselCore uses sigma^2-normalised derivatives by default, so the
  test sets `scaleNormalizationExponent = 0`.
- scikit-image's automatic gamma is half the maximum Frobenius norm at the *first* sigma only;
  here it is computed exactly that way and passed explicitly to both implementations.
- black_ridges=True <-> Polarity.darkOnBright; mode='reflect' (half-sample symmetric) is the
  boundary VesselCore uses.
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".bench-venv")
OUT = os.path.join(ROOT, "Tests", "VesselCoreTests", "Fixtures")


def ensure_venv():
    """Re-executes this script inside .bench-venv (created with scikit-image when missing)."""
    python = os.path.join(VENV, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(python):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    subprocess.check_call([python, "-m", "pip", "install", "-q", "numpy", "scikit-image"])
    os.execv(python, [python] + sys.argv)


def tube_image(size, seed, dark=True, radius=3.0, noise=2.0):
    """A curved cylinder-projected tube with a narrowing, a branch, a ramp and noise."""
    import numpy as np
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    image = 500 + 80 * x / size + 40 * np.sin(3 * y / size)
    t = np.linspace(0, 1, 600)
    paths = [
        (size * (0.1 + 0.8 * t), size * (0.5 + 0.2 * np.sin(3 * t)),
         radius * (1 - 0.45 * np.exp(-((t - 0.5) / 0.08) ** 2))),
        (size * (0.35 + 0.4 * t), size * (0.5 + 0.2 * np.sin(3 * 0.3125)) + size * 0.4 * t,
         np.full_like(t, radius * 0.6)),
    ]
    chord = np.zeros_like(image)
    for px, py, pr in paths:
        d2 = (x[..., None] - px) ** 2 + (y[..., None] - py) ** 2
        idx = d2.argmin(axis=-1)
        d = np.sqrt(d2.min(axis=-1))
        r = pr[idx]
        chord = np.maximum(chord, 2 * np.sqrt(np.clip(r ** 2 - d ** 2, 0, None)))
    image = image - 12 * chord if dark else image + 12 * chord
    image += noise * rng.standard_normal(image.shape)
    return image.astype(np.float32)


def main():
    ensure_venv()
    import numpy as np
    import skimage
    from skimage.feature import hessian_matrix, hessian_matrix_eigvals
    from skimage.filters import frangi

    os.makedirs(OUT, exist_ok=True)
    cases = [
        dict(name="tube64-dark", size=64, seed=1, dark=True, radius=3.0, sigmas=[1, 2, 3, 4]),
        dict(name="tube96-dark", size=96, seed=2, dark=True, radius=4.5, sigmas=[1, 2, 3, 4]),
        dict(name="tube96-bright", size=96, seed=3, dark=False, radius=3.5, sigmas=[1.5, 2.5, 4]),
    ]
    described = []
    for case in cases:
        image = tube_image(case["size"], case["seed"], case["dark"], case["radius"])
        black = case["dark"]
        signed = image if black else -image
        # scikit-image's own automatic gamma: half the max Frobenius norm at the first sigma.
        eig = hessian_matrix_eigvals(hessian_matrix(signed.astype(np.float64), case["sigmas"][0],
                                                    mode="reflect", use_gaussian_derivatives=True))
        gamma = float(np.sqrt((eig ** 2).sum(0)).max() / 2)
        result = frangi(image.astype(np.float64), sigmas=case["sigmas"], alpha=0.5, beta=0.5, gamma=gamma,
                        black_ridges=black, mode="reflect").astype(np.float32)
        auto = frangi(image.astype(np.float64), sigmas=case["sigmas"], black_ridges=black, mode="reflect")
        assert np.allclose(auto, result, atol=1e-5), "explicit gamma reproduces skimage's automatic one"
        image.astype("<f4").tofile(os.path.join(OUT, case["name"] + ".input.f32"))
        result.astype("<f4").tofile(os.path.join(OUT, case["name"] + ".frangi.f32"))
        described.append(dict(name=case["name"], width=case["size"], height=case["size"],
                              sigmas=case["sigmas"], alpha=0.5, beta=0.5, gamma=gamma,
                              blackRidges=black, mode="reflect"))
        print(f"{case['name']}: gamma {gamma:.6g}, max response {result.max():.4f}")
    with open(os.path.join(OUT, "frangi-reference.json"), "w") as f:
        json.dump(dict(generator="scripts/make-frangi-reference.py", scikitImage=skimage.__version__,
                       numpy=np.__version__, cases=described), f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
