package dev.visiontower.api.image;

import dev.visiontower.api.HostTensor;

/**
 * An 8-bit RGB image, row-major, interleaved ({@code [H, W, 3]}).
 *
 * @param width  pixels per row
 * @param height rows
 * @param rgb    {@code height * width * 3} bytes (read with {@code & 0xFF})
 */
public record RgbImage(int width, int height, byte[] rgb) {

    public RgbImage {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
        if (rgb.length != (long) width * height * 3) {
            throw new IllegalArgumentException("expected " + (long) width * height * 3 + " bytes for a " + width + "x"
                    + height + " RGB image, got " + rgb.length);
        }
    }

    /** From a uint8 {@code [H, W, 3]} tensor. */
    public static RgbImage of(HostTensor hwc) {
        long[] s = hwc.shape();
        if (s.length != 3 || s[2] != 3) {
            throw new IllegalArgumentException("expected a [H, W, 3] uint8 tensor, got " + java.util.Arrays.toString(s));
        }
        return new RgbImage((int) s[1], (int) s[0], hwc.bytes());
    }

    public int get(int x, int y, int c) {
        return rgb[(y * width + x) * 3 + c] & 0xFF;
    }

    public HostTensor toTensor() {
        return HostTensor.ofBytes(rgb, height, width, 3);
    }
}
