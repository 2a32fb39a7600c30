/** The source file behind each public import of the package. */
export declare const ENTRY_POINTS: Readonly<Record<string, string>>
