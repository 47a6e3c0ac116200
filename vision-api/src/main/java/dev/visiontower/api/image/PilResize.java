package dev.visiontower.api.image;

/**
 * Resizes 8-bit RGB images exactly like Pillow's {@code Image.resize(size, filter)} (no reducing gap): separable
 * convolution with the filter stretched by the downscale factor (antialiasing), coefficients normalised to sum 1 and
 * converted to 22-bit fixed point, a horizontal pass then a vertical pass, each rounded and clipped to 8 bits.
 */
public final class PilResize {
    private static final int PRECISION_BITS = 32 - 8 - 2;

    private PilResize() {
    }

    /** Fixed-point coefficients for one axis: per output pixel the first input index, tap count and weights. */
    private record Coefficients(int[] first, int[] count, int[] weights, int kernelSize) {
    }

    private static Coefficients coefficients(int inSize, int outSize, ResampleFilter filter) {
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = filter.support() * filterScale;
        int kernelSize = (int) Math.ceil(support) * 2 + 1;
        int[] first = new int[outSize];
        int[] count = new int[outSize];
        int[] weights = new int[outSize * kernelSize];
        double[] k = new double[kernelSize];
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale;
            double ss = 1.0 / filterScale;
            int xmin = (int) (center - support + 0.5);
            if (xmin < 0) {
                xmin = 0;
            }
            int xmax = (int) (center + support + 0.5);
            if (xmax > inSize) {
                xmax = inSize;
            }
            xmax -= xmin;
            double ww = 0.0;
            for (int x = 0; x < xmax; x++) {
                double w = filter.weight((x + xmin - center + 0.5) * ss);
                k[x] = w;
                ww += w;
            }
            for (int x = 0; x < xmax; x++) {
                double v = ww != 0.0 ? k[x] / ww : k[x];
                weights[xx * kernelSize + x] = v < 0
                        ? (int) (-0.5 + v * (1 << PRECISION_BITS))
                        : (int) (0.5 + v * (1 << PRECISION_BITS));
            }
            first[xx] = xmin;
            count[xx] = xmax;
        }
        return new Coefficients(first, count, weights, kernelSize);
    }

    private static int clip8(int acc) {
        int v = acc >> PRECISION_BITS;
        return v < 0 ? 0 : Math.min(v, 255);
    }

    /** Resizes to {@code outWidth x outHeight}. Returns the input itself when the size is unchanged (as PIL copies). */
    public static RgbImage resize(RgbImage in, int outWidth, int outHeight, ResampleFilter filter) {
        if (outWidth <= 0 || outHeight <= 0) {
            throw new IllegalArgumentException("target size must be positive, got " + outWidth + "x" + outHeight);
        }
        if (outWidth == in.width() && outHeight == in.height()) {
            return in;
        }
        Coefficients vert = coefficients(in.height(), outHeight, filter);
        int rowFirst = vert.first()[0];
        int rowLast = vert.first()[outHeight - 1] + vert.count()[outHeight - 1];

        byte[] src = in.rgb();
        int srcW = in.width();
        int tmpH = rowLast - rowFirst;
        byte[] tmp;
        int tmpW;
        int rowOffset;
        if (outWidth != in.width()) {
            Coefficients hor = coefficients(in.width(), outWidth, filter);
            tmpW = outWidth;
            tmp = new byte[tmpH * tmpW * 3];
            for (int y = 0; y < tmpH; y++) {
                int srcRow = (y + rowFirst) * srcW * 3;
                int dstRow = y * tmpW * 3;
                for (int xx = 0; xx < outWidth; xx++) {
                    int xmin = hor.first()[xx];
                    int n = hor.count()[xx];
                    int kOff = xx * hor.kernelSize();
                    int r = 1 << (PRECISION_BITS - 1);
                    int g = r;
                    int b = r;
                    for (int x = 0; x < n; x++) {
                        int w = hor.weights()[kOff + x];
                        int p = srcRow + (x + xmin) * 3;
                        r += (src[p] & 0xFF) * w;
                        g += (src[p + 1] & 0xFF) * w;
                        b += (src[p + 2] & 0xFF) * w;
                    }
                    int d = dstRow + xx * 3;
                    tmp[d] = (byte) clip8(r);
                    tmp[d + 1] = (byte) clip8(g);
                    tmp[d + 2] = (byte) clip8(b);
                }
            }
            rowOffset = rowFirst;
        } else {
            tmp = src;
            tmpW = srcW;
            rowOffset = 0;
        }
        if (outHeight == in.height()) {
            // only the horizontal pass was needed: the temporary image holds every row
            return new RgbImage(tmpW, outHeight, tmp);
        }
        byte[] out = new byte[outHeight * tmpW * 3];
        for (int yy = 0; yy < outHeight; yy++) {
            int ymin = vert.first()[yy] - (tmp == src ? 0 : rowOffset);
            int n = vert.count()[yy];
            int kOff = yy * vert.kernelSize();
            for (int xx = 0; xx < tmpW; xx++) {
                int r = 1 << (PRECISION_BITS - 1);
                int g = r;
                int b = r;
                for (int y = 0; y < n; y++) {
                    int w = vert.weights()[kOff + y];
                    int p = ((y + ymin) * tmpW + xx) * 3;
                    r += (tmp[p] & 0xFF) * w;
                    g += (tmp[p + 1] & 0xFF) * w;
                    b += (tmp[p + 2] & 0xFF) * w;
                }
                int d = (yy * tmpW + xx) * 3;
                out[d] = (byte) clip8(r);
                out[d + 1] = (byte) clip8(g);
                out[d + 2] = (byte) clip8(b);
            }
        }
        return new RgbImage(tmpW, outHeight, out);
    }
}
