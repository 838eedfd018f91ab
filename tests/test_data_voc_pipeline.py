"""make_dataset: shapes, labels and mask alignment, determinism, augmentation, bad JPEGs."""

import io
import shutil

import numpy as np
import pytest
from PIL import Image

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from resnet_lib.data.voc.synthetic import make_synthetic_voc  # noqa: E402
from resnet_lib.data.voc import (  # noqa: E402
    VOCAnnotationWarning, VOCFormatError, check_jpeg, load_records, make_dataset,
    multi_hot_labels, read_split, seed_split, single_labels,
)

SIZE = 32


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return make_synthetic_voc(tmp_path_factory.mktemp("voc"), num_images=20, seed=5,
                              image_size=64)


@pytest.fixture
def voc(pristine, tmp_path):
    target = tmp_path / "VOC2012"
    shutil.copytree(pristine, target)
    return target


def _collect(ds):
    parts = list(zip(*[[t.numpy() for t in batch] for batch in ds]))
    return [np.concatenate(p) for p in parts]


def test_multi_label_batches_align_with_records(pristine):
    ds = make_dataset(pristine, "train", image_size=SIZE, batch_size=4, with_mask=True)
    images, labels, mask = _collect(ds)
    records = read_split(pristine, "train")
    want_labels, want_mask = multi_hot_labels(records)
    assert images.shape == (len(records), SIZE, SIZE, 3) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    np.testing.assert_array_equal(labels, want_labels)
    np.testing.assert_array_equal(mask, want_mask)
    # the first image equals a plain resize of its JPEG (no augmentation by default)
    raw = tf.io.decode_jpeg(tf.io.read_file(str(records[0].image_path)), channels=3)
    ref = tf.image.resize(tf.cast(raw, tf.float32), (SIZE, SIZE)).numpy() / 255
    assert np.abs(images[0] - ref).max() < 2 / 255


def test_single_labels_and_rectangular_size(pristine):
    ds = make_dataset(pristine, "val", image_size=(24, 40), batch_size=8, label_mode="single")
    images, labels = _collect(ds)
    assert images.shape[1:] == (24, 40, 3)
    np.testing.assert_array_equal(labels, single_labels(read_split(pristine, "val")))
    with pytest.raises(ValueError, match="label_mode"):
        make_dataset(pristine, "val", label_mode="both")


def test_deterministic_without_augmentation_and_seeded_with_it(pristine):
    kw = dict(image_size=SIZE, batch_size=5)
    plain = make_dataset(pristine, "train", **kw)
    a, b = _collect(plain)[0], _collect(plain)[0]
    np.testing.assert_array_equal(a, b)  # two epochs, identical
    aug = lambda seed: make_dataset(pristine, "train", augment=True, seed=seed, **kw)  # noqa
    ds = aug(1)
    e1, e2 = _collect(ds), _collect(ds)
    f1 = _collect(aug(1))
    np.testing.assert_array_equal(e1[0], f1[0])  # same seed, same first epoch
    assert not np.array_equal(e1[0], e2[0])  # a new epoch draws new augmentations
    assert not np.array_equal(e1[0], _collect(aug(2))[0])
    # shuffle defaults to augment: same multiset of labels, another order
    assert sorted(map(tuple, e1[1])) == sorted(map(tuple, _collect(plain)[1]))
    unshuffled = make_dataset(pristine, "train", augment=True, shuffle=False, seed=1, **kw)
    np.testing.assert_array_equal(_collect(unshuffled)[1], _collect(plain)[1])
    assert not np.allclose(_collect(unshuffled)[0], a)  # augmented, but in order


def test_seed_split_records_feed_make_dataset(pristine):
    parts = seed_split(pristine, seed=0)
    images, labels = _collect(make_dataset(pristine, parts["val"], image_size=SIZE))
    assert len(images) == len(parts["val"])


def _write_jpeg(path, mode):
    rgb = Image.new("RGB", (40, 30), (200, 50, 20))
    rgb.convert(mode).save(path, "JPEG", quality=95)


def test_grayscale_and_cmyk_load_as_rgb(voc):
    ids = [r.image_id for r in read_split(voc, "train")]
    _write_jpeg(voc / "JPEGImages" / f"{ids[0]}.jpg", "L")
    _write_jpeg(voc / "JPEGImages" / f"{ids[1]}.jpg", "CMYK")
    with pytest.warns(VOCAnnotationWarning, match="the image wins"):  # 40x30, not 64x48
        images, _ = _collect(make_dataset(voc, "train", image_size=8, batch_size=4))
    assert images.shape[-1] == 3
    grey = images[0, 4, 4]
    assert np.allclose(grey, grey[0], atol=1e-6)
    np.testing.assert_allclose(images[1, 4, 4], np.array([200, 50, 20]) / 255, atol=4 / 255)


def _jpeg_bytes():
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), np.uint8)).save(
        buffer, "JPEG")
    return buffer.getvalue()


BAD_FILES = {
    "truncated": (lambda: _jpeg_bytes()[:700], "truncated JPEG"),
    "png named .jpg": (lambda: _png_bytes(), "not a JPEG file.*PNG"),
    "html named .jpg": (lambda: b"<html>404 Not Found</html>", "not a JPEG file"),
    "corrupt header": (lambda: _jpeg_bytes()[:4] + b"\x00" * 300 + _jpeg_bytes()[304:],
                       "corrupt JPEG"),
    "empty": (lambda: b"", "empty"),
}


def _png_bytes():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_jpeg_raises_naming_the_file(voc, case):
    make_bytes, message = BAD_FILES[case]
    image_id = read_split(voc, "train")[2].image_id
    (voc / "JPEGImages" / f"{image_id}.jpg").write_bytes(make_bytes())
    with pytest.raises(VOCFormatError, match=message) as info:
        make_dataset(voc, "train", image_size=SIZE)
    assert f"{image_id}.jpg" in str(info.value)
    with pytest.raises(ValueError, match=message):
        check_jpeg(voc / "JPEGImages" / f"{image_id}.jpg")


def test_tf_decoder_rejects_what_check_jpeg_rejects():
    """The up-front check is needed: TensorFlow's own error does not name the file."""
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        tf.io.decode_jpeg(BAD_FILES["truncated"][0]())
    assert ".jpg" not in str(info.value)


def test_skip_reports_every_skipped_file(voc):
    records = read_split(voc, "train")
    bad = [records[1].image_id, records[3].image_id]
    (voc / "JPEGImages" / f"{bad[0]}.jpg").write_bytes(_png_bytes())
    (voc / "JPEGImages" / f"{bad[1]}.jpg").write_bytes(_jpeg_bytes()[:500])
    (voc / "Annotations" / f"{records[4].image_id}.xml").write_text("<annotation>")
    skipped = []
    with pytest.warns(VOCAnnotationWarning) as caught:
        ds = make_dataset(voc, "train", image_size=SIZE, batch_size=64, on_error="skip",
                          skipped=skipped)
    assert [s.image_id for s in skipped] == [records[4].image_id] + bad
    assert "malformed XML" in skipped[0].reason and "PNG" in skipped[1].reason
    assert "truncated" in skipped[2].reason
    assert sum("skipping" in str(w.message) for w in caught) == 3
    images, labels = _collect(ds)
    assert len(images) == len(records) - 3
    good = [r for r in records if r.image_id not in bad and r.image_id != records[4].image_id]
    np.testing.assert_array_equal(labels, multi_hot_labels(good)[0])
    with pytest.warns(VOCAnnotationWarning):
        kept, _ = load_records(voc, "train", on_error="skip")
    assert [r.image_id for r in kept] == [r.image_id for r in good]


def test_error_inside_tf_data_names_the_file(voc):
    """A file damaged after make_dataset checked it fails in tf.data, naming the file."""
    ds = make_dataset(voc, "train", image_size=SIZE, batch_size=2)
    victim = read_split(voc, "train")[3].image_path
    victim.write_bytes(victim.read_bytes()[:-100])
    with pytest.raises(tf.errors.InvalidArgumentError, match=victim.name):
        _collect(ds)


def test_augmentation_paths_agree_on_geometry(pristine):
    """crop_and_resize (fast path) and the projective transform sample the same points."""
    from resnet_lib.data.voc.geometry import (
        Augmentation, affine_transform, crop_box, uses_projective_transform,
    )

    seed_aug = Augmentation()  # the seed's: 0.1 degree shear is sub-pixel -> fast path
    assert not uses_projective_transform(seed_aug, 224, 224)
    assert uses_projective_transform(Augmentation(shear=10), 224, 224)
    assert uses_projective_transform(Augmentation(fill_mode="nearest"), 224, 224)
    no_shear = Augmentation(shear=0.0)
    for s in range(5):
        seed = tf.constant([s, 7], tf.int64)
        t = affine_transform(48.0, 64.0, 20, 30, no_shear, seed).numpy()
        y1, x1, y2, x2 = crop_box(48.0, 64.0, 20, 30, no_shear, seed).numpy()
        # output corners (0, 0) and (29, 19) land on the box corners, in pixels
        np.testing.assert_allclose([t[2], t[5]], [x1 * 63, y1 * 47], atol=1e-3)
        np.testing.assert_allclose([t[0] * 29 + t[2], t[4] * 19 + t[5]], [x2 * 63, y2 * 47],
                                   atol=1e-3)


def test_large_shear_uses_projective_transform(pristine):
    """A 20-degree shear is applied (not left out as the sub-pixel one is): with the same seed,
    hence the same shift/zoom/flip draws, the sheared images differ from the unsheared ones,
    and by about what a shear moves (tan 20 deg * half the image, several pixels at the edges)."""
    from resnet_lib.data.voc.geometry import Augmentation, uses_projective_transform

    sheared, plain = Augmentation(shear=20), Augmentation(shear=0.0)
    assert uses_projective_transform(sheared, SIZE, SIZE) and not uses_projective_transform(plain, SIZE, SIZE)
    made = {}
    for name, augmentation in (("sheared", sheared), ("plain", plain), ("again", sheared)):
        ds = make_dataset(pristine, "val", image_size=SIZE, augment=True, shuffle=False, seed=0,
                          augmentation=augmentation)
        made[name] = _collect(ds)[0]
    assert made["sheared"].shape[1:] == (SIZE, SIZE, 3) and np.isfinite(made["sheared"]).all()
    np.testing.assert_array_equal(made["sheared"], made["again"])  # seeded
    per_image = np.abs(made["sheared"] - made["plain"]).mean(axis=(1, 2, 3))
    assert (per_image > 0.01).mean() >= 0.5, f"shear changed too few images: {np.round(per_image, 4)}"


def test_resize_box_matches_resize_and_crop_and_resize():
    """The fast sampler: exact tf.image.resize without augmentation; with it, crop_and_resize's
    geometry up to rounding: half an input pixel (crop edges) plus half an output cell."""
    from resnet_lib.data.voc.geometry import SEED_AUGMENTATION, crop_box, resize_box

    rng = np.random.default_rng(0)
    image = tf.constant(rng.integers(0, 256, (75, 100, 3)), tf.uint8)
    plain = resize_box(image, crop_box(75.0, 100.0, 30, 40, None, None), 30, 40)
    np.testing.assert_array_equal(plain.numpy(), tf.image.resize(image, (30, 40)).numpy())
    # ramps: a pixel's value is its own x (or y) coordinate, so outputs show where they sampled
    x = np.tile(np.arange(1, 101, dtype=np.float32)[None, :, None], (75, 1, 1))
    y = np.tile(np.arange(1, 76, dtype=np.float32)[:, None, None], (1, 100, 1))
    ramps = tf.constant(np.concatenate([x, y, np.ones_like(x)], axis=-1))
    mirrored = 0
    for s in range(12):
        box = crop_box(75.0, 100.0, 30, 40, SEED_AUGMENTATION, tf.constant([s, 3], tf.int64))
        fast = resize_box(ramps, box, 30, 40).numpy()
        reference = tf.image.crop_and_resize(ramps[None], box[None], [0], [30, 40])[0].numpy()
        inside = (fast[..., 2] == 1) & (reference[..., 2] == 1)  # both sampled inside the image
        assert inside.mean() > 0.6
        tolerance = 0.5 + 0.5 * 1.1 * 2.5  # output cells span up to 2.5 x zoom 1.1 input pixels
        np.testing.assert_array_less(np.abs(fast - reference)[inside][:, :2], tolerance)
        mirrored += bool(box[3] < box[1])
    assert 0 < mirrored < 12  # both orientations were exercised


@pytest.mark.parametrize("augment", [False, True])
def test_datasets_know_their_length(pristine, augment):
    # Keras ends an epoch on the dataset's cardinality; an unknown one made its optimizer count
    # one step more per epoch than it trained.
    records = read_split(pristine, "train")
    ds = make_dataset(pristine, "train", image_size=SIZE, batch_size=3, augment=augment, seed=0)
    assert int(ds.cardinality()) == -(-len(records) // 3) == sum(1 for _ in ds)


def test_decoded_images_store_is_shared_and_matches_the_uncached_pipeline(pristine):
    from resnet_lib.data.voc import DecodedImages

    records = read_split(pristine, "train")
    store = DecodedImages()
    kw = dict(image_size=SIZE, batch_size=4, with_mask=True)
    ds = make_dataset(pristine, "train", cache=store, **kw)
    assert len(store) == 0  # filled by the first pass, not before
    images, labels, mask = _collect(ds)
    assert len(store) == len(records) and store.nbytes == len(records) * SIZE * SIZE * 3
    plain = _collect(make_dataset(pristine, "train", **kw))
    # the store holds the same resize rounded to uint8: within half a grey level
    assert np.abs(images - plain[0]).max() <= 0.5 / 255 + 1e-6
    np.testing.assert_array_equal(labels, plain[1])
    np.testing.assert_array_equal(mask, plain[2])
    # another dataset over a subset of the same files decodes nothing new ...
    subset = _collect(make_dataset(pristine, records[2:7], cache=store, **kw))
    assert len(store) == len(records)
    np.testing.assert_array_equal(subset[0], images[2:7])
    # ... another size does, and clear() frees everything
    _collect(make_dataset(pristine, records[:3], image_size=16, cache=store))
    assert len(store) == len(records) + 3
    store.clear()
    assert len(store) == 0 and store.nbytes == 0


def test_cached_augmentation_is_seeded_and_keeps_length(pristine):
    from resnet_lib.data.voc import DecodedImages

    store = DecodedImages()
    aug = lambda seed: make_dataset(pristine, "train", image_size=SIZE, batch_size=3,  # noqa
                                    augment=True, seed=seed, cache=store)
    ds = aug(1)
    e1, e2 = _collect(ds), _collect(ds)
    np.testing.assert_array_equal(e1[0], _collect(aug(1))[0])  # same seed, same epoch
    assert not np.array_equal(e1[0], e2[0])  # a new epoch draws new augmentations
    plain = _collect(make_dataset(pristine, "train", image_size=SIZE, batch_size=3, cache=store))
    assert sorted(map(tuple, e1[1])) == sorted(map(tuple, plain[1]))  # same images, shuffled
    assert e1[0].shape == plain[0].shape and 0.0 <= e1[0].min() and e1[0].max() <= 1.0
    assert not any(np.allclose(a, p, atol=0.02) for a in e1[0][:4] for p in plain[0])
    assert int(ds.cardinality()) == len(plain[0]) // 3 + (len(plain[0]) % 3 > 0)
    with pytest.raises(TypeError, match="cache"):
        make_dataset(pristine, "train", cache="yes")
    # a shear too large to leave out takes the projective transform, from the store too
    from resnet_lib.data.voc import Augmentation

    big = make_dataset(pristine, "train", image_size=SIZE, augment=True, seed=0, cache=store,
                       augmentation=Augmentation(shear=20.0))
    assert _collect(big)[0].shape == plain[0].shape


def test_pipelines_run_without_tf_data_autotuning(pristine):
    # With autotuning on, TensorFlow's iterator destructor waited ~1 s for the autotuning
    # thread at the end of many epochs (benchmarks/input_pipeline.md).
    for cache in (False, True):
        ds = make_dataset(pristine, "train", image_size=SIZE, augment=True, seed=0, cache=cache)
        assert ds.options().autotune.enabled is False
