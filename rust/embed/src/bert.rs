//! A BERT encoder whose batches are packed without padding.
//!
//! The sequences of a batch are laid end to end as one `tokens x hidden` matrix: every linear
//! layer is one matrix product over the real tokens only, and attention runs per sequence and
//! head on that sequence's rows, so no attention mask is needed and no work is spent on padding.
//! Weights come from `model.safetensors` through candle-core (any float dtype, kept as f32).

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use ferromem_core::Result;
use rayon::prelude::*;

use crate::config::{corrupt, BertConfig, ModelConfig};
use crate::kernels::{activate, add_layer_norm, attend, linear};

/// A linear layer in PyTorch's layout: `weight` is `(out, in)`.
struct Linear {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

/// A layer norm's gain and bias.
struct Norm {
    gain: Vec<f32>,
    bias: Vec<f32>,
}

/// One transformer layer; the query, key and value projections are fused into one.
struct Layer {
    qkv: Linear,
    attn_out: Linear,
    attn_norm: Norm,
    up: Linear,
    down: Linear,
    out_norm: Norm,
}

/// The weights of a BERT encoder and the shape they were checked against.
pub struct Bert {
    config: BertConfig,
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    embed_norm: Norm,
    layers: Vec<Layer>,
}

/// Looks tensors up by name, checks their shapes and converts them to f32.
struct Tensors<'a> {
    map: HashMap<String, Tensor>,
    prefix: &'static str,
    path: &'a std::path::Path,
}

impl Tensors<'_> {
    fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let full = format!("{}{name}", self.prefix);
        let t = self
            .map
            .get(&full)
            .ok_or_else(|| corrupt(self.path, format!("tensor {full} is missing")))?;
        if t.dims() != shape {
            return Err(corrupt(
                self.path,
                format!("tensor {full} has shape {:?}, config.json implies {shape:?}", t.dims()),
            ));
        }
        let err = |e: candle_core::Error| corrupt(self.path, format!("tensor {full}: {e}"));
        let v = t.to_dtype(DType::F32).and_then(|t| t.flatten_all()).map_err(err)?;
        let v = v.to_vec1::<f32>().map_err(err)?;
        if v.iter().any(|x| !x.is_finite()) {
            return Err(corrupt(self.path, format!("tensor {full} holds NaN or infinite values")));
        }
        Ok(v)
    }

    fn linear(&self, name: &str, n_out: usize, n_in: usize) -> Result<Linear> {
        Ok(Linear {
            weight: self.get(&format!("{name}.weight"), &[n_out, n_in])?,
            bias: self.get(&format!("{name}.bias"), &[n_out])?,
        })
    }

    fn norm(&self, name: &str, width: usize) -> Result<Norm> {
        Ok(Norm {
            gain: self.get(&format!("{name}.weight"), &[width])?,
            bias: self.get(&format!("{name}.bias"), &[width])?,
        })
    }
}

impl Bert {
    /// Reads the weights from `bytes` (the contents of `model.safetensors`) and checks every
    /// tensor against `config.json`'s shape.
    pub fn load(config: &ModelConfig, bytes: &[u8]) -> Result<Self> {
        let path = config.weights_path.as_path();
        let map = candle_core::safetensors::load_buffer(bytes, &Device::Cpu)
            .map_err(|e| corrupt(path, format!("not a valid safetensors file: {e}")))?;
        let prefix =
            if map.contains_key("bert.embeddings.word_embeddings.weight") { "bert." } else { "" };
        let t = Tensors { map, prefix, path };
        let c = config.bert.clone();
        let (h, i) = (c.hidden_size, c.intermediate_size);
        let mut layers = Vec::new();
        for l in 0..c.num_layers {
            let p = format!("encoder.layer.{l}");
            let q = t.linear(&format!("{p}.attention.self.query"), h, h)?;
            let k = t.linear(&format!("{p}.attention.self.key"), h, h)?;
            let v = t.linear(&format!("{p}.attention.self.value"), h, h)?;
            let qkv = Linear {
                weight: [q.weight, k.weight, v.weight].concat(),
                bias: [q.bias, k.bias, v.bias].concat(),
            };
            layers.push(Layer {
                qkv,
                attn_out: t.linear(&format!("{p}.attention.output.dense"), h, h)?,
                attn_norm: t.norm(&format!("{p}.attention.output.LayerNorm"), h)?,
                up: t.linear(&format!("{p}.intermediate.dense"), i, h)?,
                down: t.linear(&format!("{p}.output.dense"), h, i)?,
                out_norm: t.norm(&format!("{p}.output.LayerNorm"), h)?,
            });
        }
        let token_type =
            t.get("embeddings.token_type_embeddings.weight", &[c.type_vocab_size, h])?;
        Ok(Self {
            word: t.get("embeddings.word_embeddings.weight", &[c.vocab_size, h])?,
            position: t.get("embeddings.position_embeddings.weight", &[c.max_positions, h])?,
            token_type: token_type[..h].to_vec(),
            embed_norm: t.norm("embeddings.LayerNorm", h)?,
            layers,
            config: c,
        })
    }

    /// The model's shape.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// The word-embedding row of token `id` (a static embedder's starting point).
    pub fn word_row(&self, id: u32) -> Option<&[f32]> {
        let h = self.config.hidden_size;
        let start = (id as usize).checked_mul(h)?;
        self.word.get(start..start + h)
    }

    /// Runs the encoder over `seqs` (token ids, each at most `max_positions` long and every id
    /// below `vocab_size`: the caller checks) and returns the last hidden states of all their
    /// tokens, packed in order: `sum(len) x hidden_size`.
    pub fn forward(&self, seqs: &[&[u32]]) -> Result<Vec<f32>> {
        let c = &self.config;
        let h = c.hidden_size;
        let rows: usize = seqs.iter().map(|s| s.len()).sum();
        let mut x = vec![0.0f32; rows * h];
        let mut offsets = Vec::with_capacity(seqs.len());
        let mut row = 0;
        for seq in seqs {
            offsets.push(row);
            for (pos, &id) in seq.iter().enumerate() {
                let word = self.word_row(id).ok_or_else(|| {
                    ferromem_core::Error::invalid(format!(
                        "token id {id} is outside the vocabulary"
                    ))
                })?;
                let position = self.position.get(pos * h..(pos + 1) * h).ok_or_else(|| {
                    ferromem_core::Error::invalid(format!(
                        "sequence longer than {}",
                        c.max_positions
                    ))
                })?;
                let out = &mut x[row * h..(row + 1) * h];
                for (((o, w), p), t) in out.iter_mut().zip(word).zip(position).zip(&self.token_type)
                {
                    *o = w + p + t;
                }
                row += 1;
            }
        }
        let eps = c.layer_norm_eps;
        add_layer_norm(&mut x, None, &self.embed_norm.gain, &self.embed_norm.bias, eps);
        let mut qkv = vec![0.0f32; rows * 3 * h];
        let mut ctx = vec![0.0f32; rows * h];
        let mut tmp = vec![0.0f32; rows * h];
        let mut inter = vec![0.0f32; rows * c.intermediate_size];
        let dh = h / c.num_heads;
        for layer in &self.layers {
            linear(&x, rows, &layer.qkv.weight, &layer.qkv.bias, h, &mut qkv);
            self.attention(&qkv, seqs, &offsets, dh, &mut ctx);
            linear(&ctx, rows, &layer.attn_out.weight, &layer.attn_out.bias, h, &mut tmp);
            add_layer_norm(&mut tmp, Some(&x), &layer.attn_norm.gain, &layer.attn_norm.bias, eps);
            std::mem::swap(&mut x, &mut tmp);
            linear(&x, rows, &layer.up.weight, &layer.up.bias, h, &mut inter);
            activate(&mut inter, c.activation);
            linear(
                &inter,
                rows,
                &layer.down.weight,
                &layer.down.bias,
                c.intermediate_size,
                &mut tmp,
            );
            add_layer_norm(&mut tmp, Some(&x), &layer.out_norm.gain, &layer.out_norm.bias, eps);
            std::mem::swap(&mut x, &mut tmp);
        }
        Ok(x)
    }

    /// Every head of every sequence, in parallel; writes the concatenated heads to `ctx`.
    fn attention(
        &self,
        qkv: &[f32],
        seqs: &[&[u32]],
        offsets: &[usize],
        dh: usize,
        ctx: &mut [f32],
    ) {
        let h = self.config.hidden_size;
        let heads = self.config.num_heads;
        let tasks: Vec<(usize, usize)> =
            (0..seqs.len()).flat_map(|s| (0..heads).map(move |hd| (s, hd))).collect();
        let outs: Vec<Vec<f32>> = tasks
            .par_iter()
            .map(|&(s, hd)| {
                let len = seqs[s].len();
                let start = offsets[s];
                let mut out = vec![0.0f32; len * dh];
                attend(&qkv[start * 3 * h..(start + len) * 3 * h], len, h, hd, dh, &mut out);
                out
            })
            .collect();
        for (&(s, hd), out) in tasks.iter().zip(&outs) {
            let start = offsets[s];
            for (i, o) in out.chunks_exact(dh).enumerate() {
                let base = (start + i) * h + hd * dh;
                ctx[base..base + dh].copy_from_slice(o);
            }
        }
    }
}
