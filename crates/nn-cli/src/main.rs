//! `nn`: train, search and reproduce the report from the command line.

fn main() {
    eprintln!("nn: not yet built");
    std::process::exit(2);
}
