//! The command line.

use clap::{Args, Parser, Subcommand};

const AFTER_HELP: &str = "\
Configuration: the same variables as the functions — ZOOM_SECRET_ID (or ZOOM_ACCOUNT_ID,
ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET), KITCHEN_ROOMS (or ZOOM_MEETING_ID: one room \"kitchen\"),
ZOOM_TECH_USER, ZOOM_API_URL, ZOOM_OAUTH_URL, KITCHEN_PRESENCE_TABLE, KITCHEN_COUNT_SOURCE,
the standard AWS variables (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL, ...), and
KITCHEN_API_URL (the deployed API, for device URLs) — or --stack NAME, which takes the
secret, rooms, tech user, table and API URL from the deployed stack.

Exit status: 0 success; 1 failed (a check failed, Zoom or AWS refused or could not be
reached, unknown or existing name); 2 wrong command line or configuration; 3 the secret
changed while the command ran (nothing overwritten silently).";

#[derive(Parser)]
#[command(name = "kitchenctl", version, about = "Set up and look after a Coffee Kitchen deployment", after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args)]
pub struct Global {
    /// Print one machine-readable JSON document.
    #[arg(long, global = true)]
    pub json: bool,
    /// Take the secret, rooms, tech user, presence table and API URL from this
    /// deployed CloudFormation stack's outputs and parameters.
    #[arg(long, global = true, value_name = "NAME")]
    pub stack: Option<String>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Check the deployment: secret, Zoom token and scopes, tech user, rooms, presence.
    Doctor,
    /// Each room at a glance: count and source, staleness, last webhook, last reconcile.
    Status,
    /// Send MESSAGE as a Team Chat direct message to everyone in ROOM who has an email.
    Announce {
        room: String,
        /// At most 1024 characters.
        message: String,
    },
    /// The permanent Zoom meetings (rooms).
    #[command(subcommand)]
    Room(RoomCommand),
    /// The desk devices in the secret's `devices`.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// The page's viewers in the secret's `viewers`.
    #[command(subcommand)]
    Viewer(ViewerCommand),
    /// The credentials secret itself.
    #[command(subcommand)]
    Secret(SecretCommand),
}

#[derive(Subcommand)]
pub enum RoomCommand {
    /// Create the permanent meeting for a room (or report the one that exists).
    Create {
        /// Room name: lowercase letters, digits and '-', at most 32 characters.
        name: String,
        /// Zoom user (email or id) who hosts the meeting.
        #[arg(long, value_name = "EMAIL")]
        host: String,
        /// Meeting topic (default: "Coffee Kitchen: NAME").
        #[arg(long, value_name = "TEXT")]
        topic: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum DeviceCommand {
    /// Add a device with a new random key (printed once).
    Add {
        name: String,
        /// Only this person can be sent the join link from this device.
        #[arg(long, value_name = "EMAIL")]
        owner: Option<String>,
        /// The room the device belongs to (default: the deployment's default room).
        #[arg(long, value_name = "ROOM")]
        room: Option<String>,
        /// Give an existing device a new key (owner and room kept unless given).
        #[arg(long)]
        rotate: bool,
    },
    /// Names, owners and rooms (never keys).
    List,
    /// Remove a device; its key stops working within the secret TTL.
    Revoke {
        name: String,
        /// Do not ask, even on a terminal.
        #[arg(long, short)]
        yes: bool,
    },
}

#[derive(Subcommand)]
pub enum ViewerCommand {
    /// Add a viewer of the page with a new random key (printed once).
    Add {
        name: String,
        /// May also end meetings from the page.
        #[arg(long)]
        admin: bool,
        /// Give an existing viewer a new key.
        #[arg(long)]
        rotate: bool,
    },
    /// Names and whether each is an admin (never keys).
    List,
    /// Remove a viewer.
    Revoke {
        name: String,
        /// Do not ask, even on a terminal.
        #[arg(long, short)]
        yes: bool,
    },
}

#[derive(Subcommand)]
pub enum SecretCommand {
    /// Create the secret from ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET
    /// (and ZOOM_WEBHOOK_SECRET_TOKEN), or fill the stack's placeholder secret.
    Init {
        /// Replace fields that already hold a different value.
        #[arg(long)]
        overwrite: bool,
    },
}
