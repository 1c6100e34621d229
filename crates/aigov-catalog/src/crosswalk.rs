//! Following mappings from one item to the items of other catalogs, directly and through hub
//! catalogs, with the path and relationship of each hop.
//!
//! Mapping sets are read in both directions (an object-side query sees the inverse
//! relationship). A chain never revisits a catalog, so a query from TC260 through GB/T 45654
//! cannot come back into TC260. Chained relationships are composed with
//! [`Relationship::compose`]; chained confidence is the product of the hops' confidences.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::library::Library;
use crate::model::*;

/// An endpoint of a hop: a catalog item, or an id in an external scheme.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Node {
    /// `catalog@version:ref`.
    Item(CatalogKey, String),
    /// An external id, e.g. MIT AI Risk Repository `45.01.01`.
    External(String, String),
}

impl Node {
    /// The catalog (or `ext:<scheme>`) part.
    pub fn space(&self) -> String {
        match self {
            Node::Item(k, _) => k.to_string(),
            Node::External(s, _) => format!("ext:{s}"),
        }
    }

    /// The ref or external id.
    pub fn local(&self) -> &str {
        match self {
            Node::Item(_, r) | Node::External(_, r) => r,
        }
    }
}

impl std::fmt::Display for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.space(), self.local())
    }
}

/// One hop along a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Hop {
    /// The mapping set the hop comes from.
    pub set: String,
    /// Where the hop starts.
    pub from: Node,
    /// Where it ends.
    pub to: Node,
    /// `from REL to` (inverted when walking a set from its object side).
    pub relationship: Relationship,
    /// The row's confidence, when given.
    pub confidence: Option<f64>,
    /// The row's justification.
    pub justification: String,
    /// Whether the hop walks the set from object to subject.
    pub reversed: bool,
    /// The object label, for external ids.
    pub label: Option<String>,
}

/// A mapped item with the path that reaches it.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedItem {
    /// The end of the path.
    pub target: Node,
    /// The hops from the start item.
    pub path: Vec<Hop>,
    /// The composed relationship `start REL target`.
    pub relationship: Relationship,
    /// The product of the hops' confidences (None if any hop has none).
    pub confidence: Option<f64>,
}

impl MappedItem {
    /// Direct (one hop) or chained.
    pub fn is_direct(&self) -> bool {
        self.path.len() == 1
    }
}

/// An index of all mapping rows by endpoint, for repeated queries.
#[derive(Debug, Clone)]
pub struct Crosswalk {
    edges: HashMap<Node, Vec<Hop>>,
}

impl Crosswalk {
    /// Indexes every mapping set of the library.
    pub fn new(lib: &Library) -> Crosswalk {
        let mut edges: HashMap<Node, Vec<Hop>> = HashMap::new();
        for s in lib.mapping_sets() {
            for m in &s.mappings {
                let from = Node::Item(s.subject.clone(), m.subject.clone());
                let to = match &s.object {
                    MappingTarget::Catalog(k) => Node::Item(k.clone(), m.object.clone()),
                    MappingTarget::External(x) => Node::External(x.id.clone(), m.object.clone()),
                };
                let hop = Hop {
                    set: s.id.clone(),
                    from: from.clone(),
                    to: to.clone(),
                    relationship: m.relationship,
                    confidence: m.confidence,
                    justification: m.justification.clone(),
                    reversed: false,
                    label: m.object_label.clone(),
                };
                let back = Hop {
                    from: to.clone(),
                    to: from.clone(),
                    relationship: m.relationship.inverse(),
                    reversed: true,
                    label: None,
                    ..hop.clone()
                };
                edges.entry(from).or_default().push(hop);
                edges.entry(to).or_default().push(back);
            }
        }
        Crosswalk { edges }
    }

    /// The direct mappings of `start`.
    pub fn direct(&self, start: &Node) -> &[Hop] {
        self.edges.get(start).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Every item reachable from `start` in at most `max_hops` hops, never re-entering a
    /// catalog already on the path. With `to`, only targets in that catalog id (or external
    /// scheme id) are returned. Results: direct first, then by composed confidence.
    pub fn map(&self, start: &Node, to: Option<&str>, max_hops: usize) -> Vec<MappedItem> {
        let mut out: Vec<MappedItem> = Vec::new();
        let mut best: HashMap<Node, usize> = HashMap::new();
        let mut queue: VecDeque<(Node, Vec<Hop>, HashSet<String>)> = VecDeque::new();
        let mut visited_spaces = HashSet::new();
        visited_spaces.insert(start.space());
        queue.push_back((start.clone(), Vec::new(), visited_spaces));
        while let Some((node, path, spaces)) = queue.pop_front() {
            if path.len() >= max_hops {
                continue;
            }
            for hop in self.direct(&node) {
                let space = hop.to.space();
                if spaces.contains(&space) {
                    continue;
                }
                let mut p = path.clone();
                p.push(hop.clone());
                let relationship = p
                    .iter()
                    .skip(1)
                    .fold(p[0].relationship, |acc, h| acc.compose(h.relationship));
                let confidence = p
                    .iter()
                    .try_fold(1.0, |acc, h| h.confidence.map(|c| acc * c));
                let wanted = match (to, &hop.to) {
                    (None, _) => true,
                    (Some(t), Node::Item(k, _)) => k.id == t,
                    (Some(t), Node::External(s, _)) => s == t || format!("ext:{s}") == t,
                };
                if wanted {
                    let cand = MappedItem {
                        target: hop.to.clone(),
                        path: p.clone(),
                        relationship,
                        confidence,
                    };
                    // Keep one (the shortest, then the most confident) path per target.
                    match best.get(&hop.to) {
                        Some(&i) => {
                            let cur = &out[i];
                            let better = cand.path.len() < cur.path.len()
                                || (cand.path.len() == cur.path.len()
                                    && cand.confidence.unwrap_or(0.0)
                                        > cur.confidence.unwrap_or(0.0));
                            if better {
                                out[i] = cand;
                            }
                        }
                        None => {
                            best.insert(hop.to.clone(), out.len());
                            out.push(cand);
                        }
                    }
                }
                if matches!(hop.to, Node::Item(..)) {
                    let mut s2 = spaces.clone();
                    s2.insert(space);
                    queue.push_back((hop.to.clone(), p, s2));
                }
            }
        }
        out.sort_by(|a, b| {
            a.path
                .len()
                .cmp(&b.path.len())
                .then_with(|| {
                    b.confidence
                        .unwrap_or(0.0)
                        .partial_cmp(&a.confidence.unwrap_or(0.0))
                        .unwrap_or(std::cmp::Ordering::Equal)
                })
                .then_with(|| a.target.cmp(&b.target))
        });
        out
    }
}
