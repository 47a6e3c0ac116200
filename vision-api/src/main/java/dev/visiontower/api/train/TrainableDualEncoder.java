package dev.visiontower.api.train;

import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.checkpoint.WeightMapping;
import dev.visiontower.api.nn.ContrastiveHead;
import dev.visiontower.api.nn.TextTransformer;
import dev.visiontower.api.nn.VisionTransformer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A dual encoder loaded for training: the same towers and head the inference path uses, with every weight listed
 * as a {@link TrainableParameter}, and the means to write the current weights back under the checkpoint's names.
 */
public final class TrainableDualEncoder implements AutoCloseable {
    private final VisionTransformer vision;
    private final TextTransformer text;
    private final ContrastiveHead head;
    private final WeightMapping visionMapping;
    private final WeightMapping textMapping;
    private final Map<String, String> headSources;
    private final Map<String, long[]> checkpointShapes = new LinkedHashMap<>();
    private final List<TrainableParameter> parameters = new ArrayList<>();

    /**
     * @param headSources canonical head parameter name to checkpoint name (e.g. {@code logit_scale})
     * @param source      the checkpoint the weights were read from (for names and shapes)
     */
    public TrainableDualEncoder(VisionTransformer vision, WeightMapping visionMapping, TextTransformer text,
                                WeightMapping textMapping, ContrastiveHead head, Map<String, String> headSources,
                                Checkpoint source) {
        this.vision = vision;
        this.text = text;
        this.head = head;
        this.visionMapping = visionMapping;
        this.textMapping = textMapping;
        this.headSources = Map.copyOf(headSources);
        add("vision.", vision.parameters().all(), visionMapping, source);
        add("text.", text.parameters().all(), textMapping, source);
        for (Map.Entry<String, Tensor> e : head.parameters().entrySet()) {
            String src = headSources.get(e.getKey());
            long[] shape = source.info(src).shape();
            checkpointShapes.put(src, shape);
            parameters.add(new TrainableParameter("head." + e.getKey(), e.getValue(), src, shape));
        }
    }

    private void add(String prefix, Map<String, Tensor> tensors, WeightMapping mapping, Checkpoint source) {
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            WeightMapping.Rule r = mapping.rules().get(e.getKey());
            long[] shape = source.info(r.source()).shape();
            checkpointShapes.put(r.source(), shape);
            parameters.add(new TrainableParameter(prefix + e.getKey(), e.getValue(), r.source(), shape));
        }
    }

    public VisionTransformer vision() {
        return vision;
    }

    public TextTransformer text() {
        return text;
    }

    public ContrastiveHead head() {
        return head;
    }

    public List<TrainableParameter> parameters() {
        return parameters;
    }

    /** Total number of trained values. */
    public long size() {
        long n = 0;
        for (TrainableParameter p : parameters) {
            n += dev.visiontower.api.Shapes.numel(p.tensor().shape());
        }
        return n;
    }

    /** Current values (or any per-parameter tensors, e.g. gradients, keyed like {@link #parameters()}) by checkpoint name. */
    public Map<String, HostTensor> toCheckpoint(Map<String, HostTensor> byParameterName) {
        Map<String, HostTensor> vision = new LinkedHashMap<>();
        Map<String, HostTensor> text = new LinkedHashMap<>();
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, HostTensor> e : byParameterName.entrySet()) {
            String n = e.getKey();
            if (n.startsWith("vision.")) {
                vision.put(n.substring(7), e.getValue());
            } else if (n.startsWith("text.")) {
                text.put(n.substring(5), e.getValue());
            } else if (n.startsWith("head.")) {
                String src = headSources.get(n.substring(5));
                out.put(src, e.getValue().reshape(checkpointShapes.get(src)));
            }
        }
        out.putAll(visionMapping.export(vision, checkpointShapes));
        out.putAll(textMapping.export(text, checkpointShapes));
        return out;
    }

    /** The current weights under checkpoint names. */
    public Map<String, HostTensor> checkpointWeights() {
        Map<String, HostTensor> values = new LinkedHashMap<>();
        for (TrainableParameter p : parameters) {
            values.put(p.name(), p.tensor().toHost());
        }
        return toCheckpoint(values);
    }

    @Override
    public void close() {
        vision.close();
        text.close();
        head.close();
    }
}
