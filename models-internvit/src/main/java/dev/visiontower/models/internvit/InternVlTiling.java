package dev.visiontower.models.internvit;

import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.image.ImagePreprocessor;
import dev.visiontower.api.image.ImageTransform;
import dev.visiontower.api.image.PilResize;
import dev.visiontower.api.image.ResampleFilter;
import dev.visiontower.api.image.RgbImage;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * InternVL's dynamic high-resolution preprocessing: choose the tile grid (columns x rows, between {@code minTiles}
 * and {@code maxTiles} tiles) whose aspect ratio is closest to the image's (on an exact tie a larger grid wins when
 * the image area exceeds half of the grid's pixel area), resize the whole image to that grid with PIL's bicubic
 * filter, cut row-major {@code size x size} tiles, append a thumbnail of the whole image when there is more than
 * one tile, and normalise each tile with ImageNet statistics.
 */
public final class InternVlTiling implements ImagePreprocessor {
    private final int size;
    private final int minTiles;
    private final int maxTiles;
    private final boolean thumbnail;
    private final ImageTransform normalize;

    public InternVlTiling(int size, int minTiles, int maxTiles, boolean thumbnail) {
        if (size < 1 || minTiles < 1 || maxTiles < minTiles) {
            throw new InvalidInputException("tiling needs size >= 1 and 1 <= min tiles <= max tiles, got size " + size
                    + ", tiles " + minTiles + ".." + maxTiles);
        }
        this.size = size;
        this.minTiles = minTiles;
        this.maxTiles = maxTiles;
        this.thumbnail = thumbnail;
        this.normalize = new ImageTransform(ImageTransform.ResizeMode.NONE, 0, 0, ResampleFilter.BICUBIC, 0, 0,
                ImageTransform.CropOffset.FLOOR, 1.0 / 255.0, ImageTransform.IMAGENET_MEAN, ImageTransform.IMAGENET_STD);
    }

    /** Candidate grids (columns, rows), ordered by tile count. */
    List<int[]> candidates() {
        List<int[]> out = new ArrayList<>();
        for (int i = 1; i <= maxTiles; i++) {
            for (int j = 1; j <= maxTiles; j++) {
                if (i * j >= minTiles && i * j <= maxTiles) {
                    out.add(new int[] {i, j});
                }
            }
        }
        out.sort(Comparator.comparingInt((int[] r) -> r[0] * r[1]));
        return out;
    }

    /** The grid {columns, rows} for an image of {@code w x h}. */
    public int[] grid(int w, int h) {
        double aspect = (double) w / h;
        double bestDiff = Double.POSITIVE_INFINITY;
        int[] best = {1, 1};
        double area = (double) w * h;
        for (int[] r : candidates()) {
            double diff = Math.abs(aspect - (double) r[0] / r[1]);
            if (diff < bestDiff) {
                bestDiff = diff;
                best = r;
            } else if (diff == bestDiff && area > 0.5 * size * size * r[0] * r[1]) {
                best = r;
            }
        }
        return best;
    }

    /** The 8-bit tiles (thumbnail last), before normalisation. */
    public List<RgbImage> tiles(RgbImage image) {
        int[] g = grid(image.width(), image.height());
        RgbImage resized = PilResize.resize(image, size * g[0], size * g[1], ResampleFilter.BICUBIC);
        List<RgbImage> out = new ArrayList<>();
        for (int k = 0; k < g[0] * g[1]; k++) {
            int x0 = (k % g[0]) * size;
            int y0 = (k / g[0]) * size;
            byte[] px = new byte[size * size * 3];
            for (int y = 0; y < size; y++) {
                System.arraycopy(resized.rgb(), ((y0 + y) * resized.width() + x0) * 3, px, y * size * 3, size * 3);
            }
            out.add(new RgbImage(size, size, px));
        }
        if (thumbnail && out.size() != 1) {
            out.add(PilResize.resize(image, size, size, ResampleFilter.BICUBIC));
        }
        return out;
    }

    /** {@code [T, 3, size, size]}. */
    @Override
    public HostTensor apply(RgbImage image) {
        List<HostTensor> parts = new ArrayList<>();
        for (RgbImage t : tiles(image)) {
            parts.add(normalize.apply(t));
        }
        return HostTensor.concat0(parts);
    }
}
