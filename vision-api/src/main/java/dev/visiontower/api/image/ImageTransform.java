package dev.visiontower.api.image;

import com.fasterxml.jackson.databind.JsonNode;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;

import java.util.Arrays;

/**
 * The resize / centre-crop / rescale / normalise pipeline of Hugging Face image processors (PIL backend) and
 * open_clip's eval transform, on 8-bit RGB with {@link PilResize}.
 *
 * @param resize        how the image is resized
 * @param size          shortest-edge target ({@link ResizeMode#SHORTEST_EDGE}) or output height ({@code EXACT})
 * @param width         output width for {@code EXACT}; unused otherwise
 * @param filter        resampling filter
 * @param cropHeight    centre-crop height, 0 for no crop
 * @param cropWidth     centre-crop width, 0 for no crop
 * @param cropOffset    how the crop offset is rounded
 * @param rescaleFactor multiplier applied to 0..255 values (1/255)
 * @param mean          per-channel mean subtracted after rescaling
 * @param std           per-channel std divided by
 */
public record ImageTransform(ResizeMode resize, int size, int width, ResampleFilter filter, int cropHeight,
                             int cropWidth, CropOffset cropOffset, double rescaleFactor, float[] mean, float[] std)
        implements ImagePreprocessor {

    /** OpenAI CLIP normalisation constants. */
    public static final float[] CLIP_MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    public static final float[] CLIP_STD = {0.26862954f, 0.26130258f, 0.27577711f};

    /** ImageNet normalisation constants (InternViT). */
    public static final float[] IMAGENET_MEAN = {0.485f, 0.456f, 0.406f};
    public static final float[] IMAGENET_STD = {0.229f, 0.224f, 0.225f};

    /** Resize modes. */
    public enum ResizeMode {
        /** Shorter side to {@code size}, longer side {@code int(size * long / short)} (truncated). */
        SHORTEST_EDGE,
        /** Exactly {@code width x size}, aspect ratio not kept. */
        EXACT,
        /** No resize. */
        NONE
    }

    /** Rounding of the centre-crop offset. */
    public enum CropOffset {
        /** {@code (H - h) // 2} (Hugging Face). */
        FLOOR,
        /** {@code round((H - h) / 2)}, half to even (torchvision, open_clip). */
        ROUND_HALF_EVEN
    }

    public ImageTransform {
        if (resize == null || filter == null || cropOffset == null) {
            throw new IllegalArgumentException("resize, filter and cropOffset are required");
        }
        if (resize != ResizeMode.NONE && size <= 0) {
            throw new InvalidInputException("image transform: resize size must be > 0, got " + size);
        }
        if (resize == ResizeMode.EXACT && width <= 0) {
            throw new InvalidInputException("image transform: exact resize width must be > 0, got " + width);
        }
        if (cropHeight < 0 || cropWidth < 0 || (cropHeight == 0) != (cropWidth == 0)) {
            throw new InvalidInputException("image transform: crop size " + cropHeight + "x" + cropWidth + " is invalid");
        }
        if (mean == null || std == null || mean.length != 3 || std.length != 3) {
            throw new InvalidInputException("image transform: mean and std must have 3 values");
        }
        for (float s : std) {
            if (!(s > 0)) {
                throw new InvalidInputException("image transform: std values must be > 0, got " + Arrays.toString(std));
            }
        }
        mean = mean.clone();
        std = std.clone();
    }

    /** The CLIP eval transform (Hugging Face): shortest edge {@code n}, centre crop {@code n x n}. */
    public static ImageTransform clip(int n) {
        return new ImageTransform(ResizeMode.SHORTEST_EDGE, n, 0, ResampleFilter.BICUBIC, n, n, CropOffset.FLOOR,
                1.0 / 255.0, CLIP_MEAN, CLIP_STD);
    }

    /** The same with torchvision's / open_clip's crop rounding. */
    public static ImageTransform openClip(int n, float[] mean, float[] std) {
        return new ImageTransform(ResizeMode.SHORTEST_EDGE, n, 0, ResampleFilter.BICUBIC, n, n,
                CropOffset.ROUND_HALF_EVEN, 1.0 / 255.0, mean, std);
    }

    /** Exact resize to {@code height x width} (aspect not kept, no crop), bicubic, then normalisation. */
    public static ImageTransform exact(int height, int width, float[] mean, float[] std) {
        return new ImageTransform(ResizeMode.EXACT, height, width, ResampleFilter.BICUBIC, 0, 0, CropOffset.FLOOR,
                1.0 / 255.0, mean, std);
    }

    /** Reads a Hugging Face {@code preprocessor_config.json}. */
    public static ImageTransform fromHuggingFace(JsonNode cfg, String where) {
        boolean doResize = cfg.path("do_resize").asBoolean(true);
        ResizeMode mode = ResizeMode.NONE;
        int size = 0;
        int width = 0;
        JsonNode s = cfg.get("size");
        if (doResize) {
            if (s == null) {
                throw new InvalidInputException(where + ": do_resize without size");
            }
            if (s.isInt()) {
                mode = ResizeMode.SHORTEST_EDGE;
                size = s.asInt();
            } else if (s.has("shortest_edge")) {
                mode = ResizeMode.SHORTEST_EDGE;
                size = s.get("shortest_edge").asInt();
            } else if (s.has("height") && s.has("width")) {
                mode = ResizeMode.EXACT;
                size = s.get("height").asInt();
                width = s.get("width").asInt();
            } else {
                throw new InvalidInputException(where + ": unsupported size " + s
                        + ", expected shortest_edge or height/width");
            }
        }
        int ch = 0;
        int cw = 0;
        if (cfg.path("do_center_crop").asBoolean(false)) {
            JsonNode c = cfg.get("crop_size");
            if (c == null) {
                throw new InvalidInputException(where + ": do_center_crop without crop_size");
            }
            if (c.isInt()) {
                ch = c.asInt();
                cw = c.asInt();
            } else {
                ch = c.path("height").asInt();
                cw = c.path("width").asInt();
            }
        }
        JsonNode rf = cfg.path("rescale_factor");
        if (cfg.path("do_rescale").asBoolean(true) && !rf.isMissingNode() && !rf.isNumber()) {
            throw new InvalidInputException(where + ": rescale_factor must be a number, got " + rf);
        }
        double rescale = cfg.path("do_rescale").asBoolean(true) ? rf.asDouble(1 / 255.0) : 1.0;
        float[] mean = {0, 0, 0};
        float[] std = {1, 1, 1};
        if (cfg.path("do_normalize").asBoolean(true)) {
            mean = floats(cfg.get("image_mean"), CLIP_MEAN, where, "image_mean");
            std = floats(cfg.get("image_std"), CLIP_STD, where, "image_std");
        }
        // bounded and finite, so a corrupt config fails here, naming the field, not in a huge allocation or as NaN
        checkSize(where, "size", mode == ResizeMode.NONE ? 1 : size);
        checkSize(where, "size.width", mode == ResizeMode.EXACT ? width : 1);
        checkSize(where, "crop_size", cfg.path("do_center_crop").asBoolean(false) ? ch : 1);
        checkSize(where, "crop_size.width", cfg.path("do_center_crop").asBoolean(false) ? cw : 1);
        if (!(rescale > 0 && rescale <= 1)) {
            throw new InvalidInputException(where + ": rescale_factor must be in (0, 1] (1/255 maps 8-bit samples to "
                    + "[0, 1]), got " + rescale);
        }
        for (int i = 0; i < 3; i++) {
            // bounded so that normalised 8-bit pixels stay finite in float32
            if (!(Math.abs(mean[i]) <= 1e6) || !(std[i] >= 1e-6 && std[i] <= 1e6)) {
                throw new InvalidInputException(where + ": image_mean must be finite (|mean| <= 1e6) and image_std in "
                        + "[1e-6, 1e6]; got " + java.util.Arrays.toString(mean) + " and "
                        + java.util.Arrays.toString(std));
            }
        }
        JsonNode resample = cfg.path("resample");
        if (!resample.isMissingNode() && !(resample.isIntegralNumber() && resample.canConvertToInt())) {
            throw new InvalidInputException(where + ": resample must be PIL's integer code (2 bilinear, 3 bicubic), got "
                    + resample);
        }
        ResampleFilter filter;
        try {
            filter = ResampleFilter.fromPilCode(resample.asInt(3));
        } catch (InvalidInputException e) {
            throw new InvalidInputException(where + ": " + e.getMessage(), e);
        }
        return new ImageTransform(mode, size, width, filter, ch, cw, CropOffset.FLOOR, rescale, mean, std);
    }

    /**
     * Refuses a transform whose output would be smaller than one patch (no model could run on it), naming
     * {@code where} it was configured; returns this transform.
     */
    public ImageTransform requireOutputAtLeast(int patchSize, String where) {
        int smallest = cropHeight > 0 ? Math.min(cropHeight, cropWidth)
                : resize == ResizeMode.EXACT ? Math.min(size, width)
                : resize == ResizeMode.SHORTEST_EDGE ? size : Integer.MAX_VALUE;
        if (smallest < patchSize) {
            throw new InvalidInputException(where + ": the preprocessed images would be " + smallest + " pixels on "
                    + "their shorter side, less than the model's patch size " + patchSize + " (size or crop_size)");
        }
        return this;
    }

    /** The largest resize or crop side a preprocessing config may ask for. */
    public static final int MAX_SIDE = 8192;

    private static void checkSize(String where, String field, int v) {
        if (v <= 0 || v > MAX_SIDE) {
            throw new InvalidInputException(where + ": " + field + " " + v + " is outside 1.." + MAX_SIDE);
        }
    }

    private static float[] floats(JsonNode n, float[] dflt, String where, String key) {
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (n.isNumber()) {
            float v = (float) n.asDouble();
            return new float[] {v, v, v};
        }
        if (!n.isArray() || n.size() != 3) {
            throw new InvalidInputException(where + ": " + key + " must be 3 numbers, got " + n);
        }
        for (JsonNode x : n) {
            if (!x.isNumber()) {
                throw new InvalidInputException(where + ": " + key + " must be 3 numbers, got " + n);
            }
        }
        return new float[] {(float) n.get(0).asDouble(), (float) n.get(1).asDouble(), (float) n.get(2).asDouble()};
    }

    /** Output height of the pipeline for an image of the given size. */
    public int[] outputSize(int w, int h) {
        int[] r = resizedSize(w, h);
        return cropHeight > 0 ? new int[] {cropWidth, cropHeight} : r;
    }

    private int[] resizedSize(int w, int h) {
        switch (resize) {
            case NONE:
                return new int[] {w, h};
            case EXACT:
                return new int[] {width, size};
            case SHORTEST_EDGE: {
                int shortSide = Math.min(w, h);
                int longSide = Math.max(w, h);
                double newLong = Math.floor((double) size * longSide / shortSide);
                if (newLong > Integer.MAX_VALUE - 16) {
                    throw new InvalidInputException(String.format(java.util.Locale.ROOT, "a %dx%d image resized to "
                            + "a shortest edge of %d would be %.0f pixels long: the aspect ratio is too extreme", w, h,
                            size, newLong));
                }
                int n = (int) newLong;
                return w <= h ? new int[] {size, n} : new int[] {n, size};
            }
            default:
                throw new AssertionError(resize);
        }
    }

    /** Resized and cropped 8-bit image (before normalisation). */
    public RgbImage resizeAndCrop(RgbImage image) {
        int[] r = resizedSize(image.width(), image.height());
        if (cropHeight > 0) {
            // only the window the crop keeps is resized: a 1x200000 image costs what a square one does
            if (r[0] == image.width() && r[1] == image.height()) {
                return centerCrop(image, cropWidth, cropHeight);
            }
            return PilResize.resizeWindow(image, r[0], r[1], filter, offset(r[0] - cropWidth),
                    offset(r[1] - cropHeight), cropWidth, cropHeight);
        }
        if ((long) r[0] * r[1] > ImageDecoding.maxPixels()) {
            throw new InvalidInputException(String.format(java.util.Locale.ROOT, "a %dx%d image resized to %dx%d "
                    + "would be more than %,d pixels (-D%s)", image.width(), image.height(), r[0], r[1],
                    ImageDecoding.maxPixels(), ImageDecoding.MAX_PIXELS_PROPERTY));
        }
        return PilResize.resize(image, r[0], r[1], filter);
    }

    private RgbImage centerCrop(RgbImage img, int cw, int ch) {
        if (img.width() == cw && img.height() == ch) {
            return img;
        }
        int top = offset(img.height() - ch);
        int left = offset(img.width() - cw);
        byte[] out = new byte[cw * ch * 3]; // outside the source stays 0 (HF pads smaller images with zeros)
        for (int y = 0; y < ch; y++) {
            int sy = y + top;
            if (sy < 0 || sy >= img.height()) {
                continue;
            }
            for (int x = 0; x < cw; x++) {
                int sx = x + left;
                if (sx < 0 || sx >= img.width()) {
                    continue;
                }
                System.arraycopy(img.rgb(), (sy * img.width() + sx) * 3, out, (y * cw + x) * 3, 3);
            }
        }
        return new RgbImage(cw, ch, out);
    }

    private int offset(int leftover) {
        if (cropOffset == CropOffset.FLOOR) {
            return Math.floorDiv(leftover, 2);
        }
        return (int) Math.rint(leftover / 2.0);
    }

    /** {@code [1, 3, H, W]} float32. */
    @Override
    public HostTensor apply(RgbImage image) {
        RgbImage img = resizeAndCrop(image);
        int w = img.width();
        int h = img.height();
        int plane = w * h;
        float[] out = new float[3 * plane];
        byte[] px = img.rgb();
        float[] lut = new float[256];
        for (int c = 0; c < 3; c++) {
            float m = mean[c];
            float sd = std[c];
            // the same float arithmetic per sample, done once per 8-bit value
            for (int v = 0; v < 256; v++) {
                lut[v] = ((float) (v * rescaleFactor) - m) / sd;
            }
            int o = c * plane;
            for (int i = 0; i < plane; i++) {
                out[o + i] = lut[px[i * 3 + c] & 0xFF];
            }
        }
        return HostTensor.ofFloats(out, 1, 3, h, w);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ImageTransform t && t.resize == resize && t.size == size && t.width == width
                && t.filter == filter && t.cropHeight == cropHeight && t.cropWidth == cropWidth
                && t.cropOffset == cropOffset && t.rescaleFactor == rescaleFactor && Arrays.equals(t.mean, mean)
                && Arrays.equals(t.std, std);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(resize, size, width, filter, cropHeight, cropWidth, cropOffset, rescaleFactor,
                Arrays.hashCode(mean), Arrays.hashCode(std));
    }

    @Override
    public String toString() {
        return "ImageTransform[" + resize + " " + size + (resize == ResizeMode.EXACT ? "x" + width : "") + " "
                + filter + (cropHeight > 0 ? ", crop " + cropHeight + "x" + cropWidth + " " + cropOffset : "")
                + ", mean " + Arrays.toString(mean) + ", std " + Arrays.toString(std) + "]";
    }
}
