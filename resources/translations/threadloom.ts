<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1">
<context>
    <name>AttachmentChip</name>
    <message>
        <source>Remove from this thread</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop watching its folder (in every thread)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop watching its folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0} pages, {1} chunks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Attachment {0}, {1}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>AttachmentPanel</name>
    <message>
        <source>+ Attach files…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Attach files</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pick files to ask about in this thread</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>+ Watch a folder…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Watch a folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A folder whose files are indexed and kept up to date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Its files are indexed and kept up to date as they change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>For this thread…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>For all threads…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel reading</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop reading the attached files; what is read stays</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> · about {0:.0f} s left</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0} {1} · file {2} of {3} · {4} pages · {5}/{6} chunks{7}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sources</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sources in {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>[{0}] p.{1} {2}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>[{0}] {1} p.{2} {3}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Source {0}: {1}, page {2}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0}, p.{1}
{2}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>BarChart</name>
    <message>
        <source>{0} bars; the largest is {1}: {2}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing to show yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No model calls in this period</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>BranchSwitcher</name>
    <message>
        <source>Previous version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Next version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Version {0} of {1}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Versions of this message</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show another version of this message and the replies after it</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CodeBlock</name>
    <message>
        <source>code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy this code to the clipboard</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Puts exactly this block&apos;s code on the clipboard</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copied</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CodeView</name>
    <message>
        <source>Code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The code of this block; select it or use Copy</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Composer</name>
    <message>
        <source>Message</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Type your message; Enter sends it (see Settings)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ask anything…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ctrl+Enter to send · Enter for a new line</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter to send · Shift+Enter for a new line</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ConversationView</name>
    <message>
        <source>Conversation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>go to a thread</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>new thread</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>search every message</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>back to the composer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>stop a reply</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DetailsPanel</name>
    <message>
        <source>Thread details</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Edit…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No tags</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No metadata</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>built in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>from {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Offer the tool {0} in this thread</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open a thread to choose the tools its model may call</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Drop files or a folder on the thread to ask about them</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>EditMode</name>
    <message>
        <source>Editing your message. Sending it starts a new version; the original is kept.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel  Esc</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>EditableTitle</name>
    <message>
        <source>Thread title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Double-click or press F2 to rename the thread</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter renames the thread, Esc keeps its title</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>FilterBar</name>
    <message>
        <source>Filter threads</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Views ▾</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saved views</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save the current filter as a view, or apply a saved one</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saved views: apply one, or save the current filter</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Filter: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete view</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Filter by metadata (KEY=VALUE)…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save current filter as a view…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>HintLabel</name>
    <message>
        <source>Composer hint</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>HostedConsent</name>
    <message>
        <source>Offline mode is on, so nothing was sent to {0}: turn it off in Models… (Ctrl+Shift+M).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This thread&apos;s privacy rule keeps it on this device, so nothing was sent to {0}: change the thread&apos;s privacy (top right) to “Ask each time” or “Allowed” to use hosted models.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ImportProgress</name>
    <message>
        <source>Import</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>How the import of a chat export goes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading {name}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Conversations read so far</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Skipped conversations</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Each conversation that was not imported, with the reason</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Close</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Close this window; an import in progress goes on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Importing conversation {done} of {total}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Imported {imported} thread(s); skipped {skipped}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing was imported: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>IncognitoToggle</name>
    <message>
        <source>Incognito</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A new thread that neither reads nor writes long-term memory</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>InsightsDialog</name>
    <message>
        <source>Insights</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Period</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Which model calls the figures cover</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export CSV…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export CSV</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save the sums per day, model and thread as a CSV file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Insights status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Prompt tokens from saved state (local)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tokens run on this computer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Hosted calls</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Time spent embedding</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ratings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>prompt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>completion</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tokens per day</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tokens per model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Time to first token per model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tokens per second per model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Busiest threads</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Thread</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Calls</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tokens</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Time to first token (10th–90th percentile, box 25th–75th, line at the median)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tokens per second</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not read the figures</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0:,} model calls</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>none: nothing left this computer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0:.1f} s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0:,} up, {1:,} down</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unknown</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>(deleted thread)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CSV files (*.csv)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saved the usage figures to {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not save the CSV file</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>New thread</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Threadloom</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Send</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Send the message, or stop the reply being written (Esc)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Details</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show or hide the thread&apos;s tags, metadata and attachments (Ctrl+I)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Text size {percent}%.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A reply is being written in this thread: stop it (Esc) before deleting the thread.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0} — Threadloom</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This thread&apos;s replies now come from {model}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A reply is still being written: press Esc to stop it first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Type a message first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>■  Stop   Esc</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop the reply (Esc)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wait for the reply to finish (or press Esc) before switching versions.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Forked into “{0}”.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copied the last reply.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Privacy of this thread: {0}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing was sent to {0}: this thread stayed on this device.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0} · not installed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The starter model is ready. Ask anything.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>McpServersDialog</name>
    <message>
        <source>MCP servers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The servers of mcp.json; pick one to see its status and log</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Server status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Server log</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>What the server printed on its standard error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add a server by its command line</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disable</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Offer or stop offering its tools</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove the server from mcp.json</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show tools</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Start the server and list its tools</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add an MCP server</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Name:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Command line that starts it:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot read that command line: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Starting {name}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>enabled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>disabled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No MCP server yet: Add… one by the command line that starts it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enable</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Command: {command}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Status: {state}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tools: {tools}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Last error: {error}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MemoriesUsed</name>
    <message>
        <source>Memories used</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>What the latest reply was told about you; each opens its source</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Memory: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open the message this memory came from</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MemoryDialog</name>
    <message>
        <source>Memories</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Inbox: waiting for your approval</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>All memories</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Which memories</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The inbox of proposed memories, or every memory</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Search memories</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Approved memories matching these words</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Search approved memories…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Each memory with its status; select one to act on it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Memory text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Edit the selected memory&apos;s text, then Save</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open source message</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open the message it came from</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Approve</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Use this memory in new threads</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keep this, forget the other</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Approve it and forget the memory it contradicts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save edit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save the edited text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reject</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reject it: it is not proposed again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Forget</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove it for good, leaving no copy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>waiting for approval</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>approved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing here</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This contradicts memory %1: keep both (Approve), keep this one, or reject it.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MessageBody</name>
    <message>
        <source>Read-only text: select it to copy; a link asks before it opens</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MessageCard</name>
    <message>
        <source>More actions for this message</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>You</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Assistant</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Message from you</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Message from the assistant</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0} wrote</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Message actions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Edit…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Regenerate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ask a stronger model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fork to a new thread from here</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No other model yet: add one in Models… (Ctrl+Shift+M)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ModelChip</name>
    <message>
        <source>Model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The model this thread&apos;s replies come from; opens a menu to pick another</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose the thread&apos;s model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>● {name} · {provider} (hosted)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This thread&apos;s replies come from {ref}, a hosted model: its messages are sent to {provider} when its privacy rule allows it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>● {name} · local</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replies come from {name}, running on this computer. Click to pick another</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Send a first message, then pick this thread&apos;s model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>On this computer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No local model installed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Hosted</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{model} (this thread is local only)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No provider added</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Models and providers…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ModelManagerDialog</name>
    <message>
        <source>Models and providers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;b&gt;Local models&lt;/b&gt; — drop a .gguf file here to add it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add .gguf…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Download</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel download</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Use for new threads</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;b&gt;Hosted providers&lt;/b&gt; (OpenAI-compatible; keys are kept in the OS keyring)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add provider</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove provider</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Offline: no hosted model is used and nothing is downloaded</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0} is installed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0:,.0f} of {1:,.0f} MB · {2:.1f} MB/s · ETA {3}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>NewThreadWith</name>
    <message>
        <source>New thread with…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New thread with an assistant</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Start a thread from a saved set-up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No assistants yet (threadloom assistants add)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>NoticeBar</name>
    <message>
        <source>Dismiss</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Hide this notice</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Notices</name>
    <message>
        <source>Notice</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Something Threadloom did on your behalf that you should know about</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dismiss this notice</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OK</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> and {count} more</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not followed: {count} link(s) leading out of a knowledge folder ({named}{more}). Only what is inside a folder is shared with its threads.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PageViewer</name>
    <message>
        <source>verified</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not verified: the text was not found there in the file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>[{0}] {1}, page {2} ({3})</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PersonalControls</name>
    <message>
        <source>Open a thread to remember from it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading the thread for things to remember…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 new memories to review in Memories… (Ctrl+Shift+Y)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing new to remember</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Privacy</name>
    <message>
        <source>Local only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ask each time</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Allowed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing in this thread is ever sent to a hosted model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A hosted model may answer a turn, after you confirm it each time</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Hosted models may answer this thread (upgrades and fallbacks) without asking</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>never left this device</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>sent to a hosted model 1 time</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>sent to a hosted model {0} times</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PrivacyControl</name>
    <message>
        <source>Privacy rule</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>May this thread&apos;s messages go to a hosted model: never, ask, allowed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Where this thread has been</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New threads are local only; change it once the thread has its first message</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Privacy: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This thread was {0}; every hosted call is in the privacy ledger (`threadloom ledger`)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No message of this thread was ever sent to a hosted model</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>QuickSwitcher</name>
    <message>
        <source>Go to thread</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Type part of a thread&apos;s title; Enter opens it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Go to thread…  (type part of its title)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Thread title to find</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fuzzy: a few letters of the title, in order</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Matching threads</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Most recently active first among equal matches</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No thread matches.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>RatingBar</name>
    <message>
        <source>Good reply</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rate this reply up (press again to clear)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Bad reply</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rate this reply down (press again to clear)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Note on this rating</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Say why you rated this reply so</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Note: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add a note</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>RatingNoteDialog</name>
    <message>
        <source>Note on this rating</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Why is this reply good?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>What was wrong?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Note</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Kept with the rating and exported with it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>At most {0} characters</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ReplyController</name>
    <message>
        <source>Stopping…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This thread outgrew the model&apos;s window: older turns were summarised for it (all are kept).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loading {0}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing was sent to {0}: {1}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopped. The reply so far is kept.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The reply did not finish: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing was sent to {0}: this thread stayed on this device.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ReplyView</name>
    <message>
        <source>Open link</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This link is not a web address, so it is not opened:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open this address in your browser?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check it first: a reply can carry a link that is not what it says.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open in browser</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reply text</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SearchBox</name>
    <message>
        <source>Search threads</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Search every message of every thread (Ctrl+F); Down moves to the results</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Search threads   Ctrl+F</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SearchResults</name>
    <message>
        <source>Search results</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter opens the thread at the matching message</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No messages match “{0}”.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>You</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Assistant</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> · archived</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Follow the system</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Light</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dark</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter (Shift+Enter for a new line)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ctrl+Enter (Enter for a new line)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Theme</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Send messages with</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Largest attachment</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> MB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save each thread&apos;s model state, so it resumes without a long wait</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disk space for saved model states</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saved model states change when the model next starts (least recently used go first).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>About me</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Custom instructions: what new threads know about you</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>How to answer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Custom instructions: how new threads should answer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New threads get these; threads there are keep what they started with.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Sidebar</name>
    <message>
        <source>+  New thread</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New thread</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Start a new conversation (Ctrl+N)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Start a new thread (Ctrl+N)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Archived. It is still searchable; the Archived chip shows archived threads.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saved the view “{0}”. Apply it from Views ▾.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleted “{0}”.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleted {0} threads.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Undo</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SpreadChart</name>
    <message>
        <source>{0}: median {1:.2f} {2}, 10th to 90th percentile {3:.2f} to {4:.2f}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing to show yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No timed model calls in this period</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>StarterCard</name>
    <message>
        <source>Downloading</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unpacking</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checking</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>StarterModelCard</name>
    <message>
        <source>Get the starter model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Get the starter model ({0} MB)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0} Licence: {1}. It runs on this computer; your conversations never leave it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Download</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Download the starter model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Download progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Downloading…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{0} · %p% · {1:.0f} of {2:.0f} MB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Try again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The download did not finish: {0}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>StatusLine</name>
    <message>
        <source>Status message</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SummaryCard</name>
    <message>
        <source>Summary of earlier turns</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Edit the summary</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Undo the summary</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Summary text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Earlier turns are summarised for the model</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SystemPromptDialog</name>
    <message>
        <source>System prompt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Instructions the model gets at the start of this thread</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Applies from the thread&apos;s next branch (an edited message or a regenerated reply); the branches there are keep theirs, so their saved model state stays valid. Empty: none.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ThinkingSection</name>
    <message>
        <source>Show or hide what the model thought before answering</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Thinking</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Shows or hides the model&apos;s reasoning</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The model&apos;s reasoning</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Thinking… {seconds} s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Thought for {seconds} s</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ThreadList</name>
    <message>
        <source>Today</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Yesterday</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Previous 7 days</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Threads</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your conversations, most recently active first. Right-click (or the menu key) to rename, pin, tag, export, archive or delete.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Thread actions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rename</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unpin</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pin</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tags…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Metadata…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unarchive</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Archive</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export as Markdown…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export as JSON…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ToolCallCard</name>
    <message>
        <source>Show or hide the call&apos;s arguments and result</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tool call {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tool call details</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{server} wants to run {name} with these arguments. Nothing in the conversation can answer this for you.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run this call once</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Always for this thread</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run it, and run this tool without asking in this thread</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Don&apos;t</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Do not run it; the model hears that you declined</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Arguments:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Result:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Error: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>server: {server}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{ms} ms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>approved by {who}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ToolCard</name>
    <message>
        <source>waiting for your answer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>running…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>you declined</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Transfers</name>
    <message>
        <source>Import a chat export</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Imported {imported} thread(s) from {name}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not import</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export as {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export all threads as {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Exported {count} thread(s) to {path}.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>WindowKeys</name>
    <message>
        <source>New thread</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Go to thread</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop reply or cancel editing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Edit last message</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy last reply</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Focus composer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Models and providers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>MCP servers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Insights</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Memories</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remember from this thread</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Thread details</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Search threads</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Larger text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Smaller text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Usual text size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rename thread</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete thread</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Models…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Local models, hosted providers and the offline switch (Ctrl+Shift+M)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settings…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Theme, send key, attachment size limit, saved model states (Ctrl+,)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Insights…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tokens, speed and ratings of the model calls over time (Ctrl+Shift+I)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export this thread</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export all threads</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Markdown…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>JSON (lossless)…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Thread</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open a thread to export it (or export all threads).</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
