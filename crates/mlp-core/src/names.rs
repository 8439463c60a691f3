//! Random run names in MLflow's style (`bold-fox-123`), for runs created without one.

const ADJECTIVES: &[&str] = &[
    "able", "bold", "brave", "bright", "calm", "clever", "crisp", "eager", "fair", "fast", "gentle", "glad", "grand",
    "keen", "kind", "lively", "lucky", "merry", "neat", "nimble", "proud", "quick", "quiet", "rare", "sharp", "shy",
    "smart", "steady", "sunny", "swift", "tidy", "vast", "warm", "wise", "witty", "zesty",
];
const NOUNS: &[&str] = &[
    "ant", "bass", "bear", "bee", "cat", "crane", "deer", "dove", "eel", "finch", "fox", "frog", "goat", "hawk", "hen",
    "horse", "jay", "koala", "lark", "lion", "lynx", "mole", "moth", "newt", "owl", "panda", "pike", "ram", "seal",
    "shark", "sloth", "snail", "swan", "toad", "trout", "wolf",
];

/// A name from a random seed: `<adjective>-<noun>-<0..999>`.
pub fn run_name(seed: u64) -> String {
    let a = ADJECTIVES[(seed % ADJECTIVES.len() as u64) as usize];
    let n = NOUNS[((seed >> 16) % NOUNS.len() as u64) as usize];
    format!("{a}-{n}-{}", (seed >> 32) % 1000)
}

#[cfg(test)]
mod tests {
    #[test]
    fn shape() {
        let n = super::run_name(0xdead_beef_1234_5678);
        assert_eq!(n.split('-').count(), 3, "{n}");
        assert_ne!(super::run_name(1), super::run_name(1 << 16));
    }
}
