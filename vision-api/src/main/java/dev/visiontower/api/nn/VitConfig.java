package dev.visiontower.api.nn;

import dev.visiontower.api.Activation;
import dev.visiontower.api.InvalidInputException;

/**
 * Architecture of the shared {@link VisionTransformer}: every family configures the same container through these
 * options. Validated on construction; see {@link VitPresets} for named configurations.
 *
 * @param imageSize        native input side in pixels (square)
 * @param patchSize        patch side in pixels
 * @param channels         input channels (3)
 * @param width            hidden width D
 * @param depth            number of transformer blocks
 * @param heads            attention heads (width % heads == 0)
 * @param mlpWidth         MLP hidden width
 * @param activation       MLP activation
 * @param norm             block norm type
 * @param normEps          epsilon of every norm in the tower
 * @param patchBias        whether the patch projection has a bias
 * @param classToken       whether a learned class token is prepended
 * @param preNorm          whether a norm is applied to the embeddings before block 0 ({@code norm_pre})
 * @param finalNorm        where the final norm is applied
 * @param pooling          pooling of the final tokens
 * @param layerScale       whether blocks scale their branches by learned vectors ({@code ls1}, {@code ls2})
 * @param qkNorm           whether q and k are RMS-normalised over the full width before the head split
 * @param qkvBias          whether the q, k, v projections have biases
 * @param projectionDim    output projection width ({@code proj.weight [E, D]}), 0 for none
 * @param projectionBias   whether that projection has a bias
 * @param posEmbedResample when the position embedding is resampled
 */
public record VitConfig(int imageSize, int patchSize, int channels, int width, int depth, int heads, int mlpWidth,
                        Activation activation, NormKind norm, double normEps, boolean patchBias, boolean classToken,
                        boolean preNorm, FinalNorm finalNorm, Pooling pooling, boolean layerScale, boolean qkNorm,
                        boolean qkvBias, int projectionDim, boolean projectionBias,
                        PosEmbedResample posEmbedResample) {

    public VitConfig {
        require(imageSize > 0, "imageSize must be > 0, got " + imageSize);
        require(patchSize > 0, "patchSize must be > 0, got " + patchSize);
        require(imageSize >= patchSize, "imageSize " + imageSize + " is smaller than patchSize " + patchSize);
        require(channels > 0, "channels must be > 0, got " + channels);
        require(width > 0 && depth >= 0 && heads > 0 && mlpWidth > 0,
                "width, heads and mlpWidth must be > 0 and depth >= 0");
        require(width % heads == 0, "width " + width + " is not divisible by heads " + heads);
        // upper bounds far above any published model, so a corrupt config fails here, not in a huge allocation
        require(imageSize <= MAX_IMAGE_SIZE, "imageSize " + imageSize + " is above " + MAX_IMAGE_SIZE);
        require(channels <= 64, "channels " + channels + " is above 64");
        require(depth <= MAX_DEPTH, "depth " + depth + " is above " + MAX_DEPTH + " layers");
        require(width <= MAX_WIDTH && mlpWidth <= 8L * MAX_WIDTH && heads <= MAX_WIDTH,
                "width " + width + ", mlpWidth " + mlpWidth + " or heads " + heads + " is above the limits (width and "
                        + "heads " + MAX_WIDTH + ", mlpWidth " + 8L * MAX_WIDTH + ")");
        require(projectionDim <= MAX_WIDTH, "projectionDim " + projectionDim + " is above " + MAX_WIDTH);
        require(activation != null && norm != null && finalNorm != null && pooling != null
                && posEmbedResample != null, "activation, norm, finalNorm, pooling and posEmbedResample are required");
        require(normEps > 0 && normEps < 1, "normEps must be in (0, 1), got " + normEps);
        require(pooling != Pooling.CLASS_TOKEN || classToken, "class-token pooling needs a class token");
        require(!(pooling == Pooling.MAP && classToken), "MAP pooling is used without a class token");
        require(finalNorm != FinalNorm.POOLED || pooling != Pooling.NONE, "a pooled final norm needs a pooling");
        require(projectionDim >= 0, "projectionDim must be >= 0, got " + projectionDim);
        require(projectionDim == 0 || pooling != Pooling.NONE, "a projection needs a pooled output");
        require(!projectionBias || projectionDim > 0, "projectionBias without a projection");
    }

    /** Largest accepted {@code imageSize} (pixels per side). */
    public static final int MAX_IMAGE_SIZE = 16384;
    /** Largest accepted number of blocks. */
    public static final int MAX_DEPTH = 1024;
    /** Largest accepted width (and number of heads); the MLP may be up to 8 times wider. */
    public static final int MAX_WIDTH = 65536;

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new InvalidInputException("invalid ViT config: " + message);
        }
    }

    /** Patches per side at the native size (a remainder smaller than a patch is dropped, as a strided convolution does). */
    public int gridSize() {
        return imageSize / patchSize;
    }

    public int headDim() {
        return width / heads;
    }

    /** Number of class-like prefix tokens (0 or 1). */
    public int prefixTokens() {
        return classToken ? 1 : 0;
    }

    /** Tokens at the native size, class token included. */
    public int tokens() {
        return gridSize() * gridSize() + prefixTokens();
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builder with CLIP-like defaults. */
    public static final class Builder {
        private int imageSize = 224;
        private int patchSize = 16;
        private int channels = 3;
        private int width = 768;
        private int depth = 12;
        private int heads = 12;
        private int mlpWidth = 3072;
        private Activation activation = Activation.QUICK_GELU;
        private NormKind norm = NormKind.LAYER_NORM;
        private double normEps = 1e-5;
        private boolean patchBias;
        private boolean classToken = true;
        private boolean preNorm = true;
        private FinalNorm finalNorm = FinalNorm.POOLED;
        private Pooling pooling = Pooling.CLASS_TOKEN;
        private boolean layerScale;
        private boolean qkNorm;
        private boolean qkvBias = true;
        private int projectionDim;
        private boolean projectionBias;
        private PosEmbedResample posEmbedResample = PosEmbedResample.ON_REQUEST;

        Builder() {
        }

        Builder(VitConfig c) {
            imageSize = c.imageSize; patchSize = c.patchSize; channels = c.channels; width = c.width;
            depth = c.depth; heads = c.heads; mlpWidth = c.mlpWidth; activation = c.activation; norm = c.norm;
            normEps = c.normEps; patchBias = c.patchBias; classToken = c.classToken; preNorm = c.preNorm;
            finalNorm = c.finalNorm; pooling = c.pooling; layerScale = c.layerScale; qkNorm = c.qkNorm;
            qkvBias = c.qkvBias; projectionDim = c.projectionDim; projectionBias = c.projectionBias;
            posEmbedResample = c.posEmbedResample;
        }

        public Builder imageSize(int v) { imageSize = v; return this; }
        public Builder patchSize(int v) { patchSize = v; return this; }
        public Builder channels(int v) { channels = v; return this; }
        public Builder width(int v) { width = v; return this; }
        public Builder depth(int v) { depth = v; return this; }
        public Builder heads(int v) { heads = v; return this; }
        public Builder mlpWidth(int v) { mlpWidth = v; return this; }
        public Builder activation(Activation v) { activation = v; return this; }
        public Builder norm(NormKind v) { norm = v; return this; }
        public Builder normEps(double v) { normEps = v; return this; }
        public Builder patchBias(boolean v) { patchBias = v; return this; }
        public Builder classToken(boolean v) { classToken = v; return this; }
        public Builder preNorm(boolean v) { preNorm = v; return this; }
        public Builder finalNorm(FinalNorm v) { finalNorm = v; return this; }
        public Builder pooling(Pooling v) { pooling = v; return this; }
        public Builder layerScale(boolean v) { layerScale = v; return this; }
        public Builder qkNorm(boolean v) { qkNorm = v; return this; }
        public Builder qkvBias(boolean v) { qkvBias = v; return this; }
        public Builder projectionDim(int v) { projectionDim = v; return this; }
        public Builder projectionBias(boolean v) { projectionBias = v; return this; }
        public Builder posEmbedResample(PosEmbedResample v) { posEmbedResample = v; return this; }

        public VitConfig build() {
            return new VitConfig(imageSize, patchSize, channels, width, depth, heads, mlpWidth, activation, norm,
                    normEps, patchBias, classToken, preNorm, finalNorm, pooling, layerScale, qkNorm, qkvBias,
                    projectionDim, projectionBias, posEmbedResample);
        }
    }
}
